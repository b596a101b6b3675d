"""Scores of a reader study: the report's Table 1 (wins / comparisons by rater group), the
head-to-head win matrix, agreement between rater groups, a CSV of all votes and a bar chart.

A tie (only when the study allows it) counts as half a win for each method of the pair.
"""

import csv
from collections import Counter, defaultdict

from skinsr_tf.rating import GROUPS

ALL = "all"


def load_votes(conn):
    """All votes as dicts with method names revealed (for the study owner only)."""
    rows = conn.execute(
        "SELECT v.id, v.rater_id, r.grp, i.stem, ma.name AS method_a, mb.name AS method_b,"
        " ml.name AS left, mr.name AS right, mw.name AS winner, v.choice, v.created_at"
        " FROM votes v JOIN raters r ON r.id = v.rater_id"
        " JOIN comparisons c ON c.id = v.comparison_id JOIN images i ON i.id = c.image_id"
        " JOIN methods ma ON ma.id = c.method_a JOIN methods mb ON mb.id = c.method_b"
        " JOIN methods ml ON ml.id = v.left_method JOIN methods mr ON mr.id = v.right_method"
        " LEFT JOIN methods mw ON mw.id = v.winner_method ORDER BY v.id").fetchall()
    return [{"vote_id": r["id"], "rater": f"R{r['rater_id']:03d}", "group": r["grp"], "image": r["stem"],
             "method_a": r["method_a"], "method_b": r["method_b"], "left": r["left"], "right": r["right"],
             "choice": r["choice"], "winner": r["winner"] if r["winner"] is not None else "tie",
             "created_at": r["created_at"]} for r in rows]


def cohen_kappa(labels_x, labels_y):
    """Cohen's kappa of two equally long label lists; None where undefined (chance agreement 1)."""
    n = len(labels_x)
    if n == 0 or n != len(labels_y):
        return None
    po = sum(a == b for a, b in zip(labels_x, labels_y)) / n
    cx, cy = Counter(labels_x), Counter(labels_y)
    pe = sum(cx[k] * cy[k] for k in set(cx) | set(cy)) / (n * n)
    if pe >= 1.0:
        return None
    return (po - pe) / (1.0 - pe)


def _majority(labels):
    """Most frequent label, or "tie" when the top count is shared."""
    top = Counter(labels).most_common()
    if len(top) > 1 and top[0][1] == top[1][1]:
        return "tie"
    return top[0][0]


def compute_results(votes, methods):
    """Scores, win matrix, group agreement and counts from ``load_votes`` rows.

    ``methods``: all method names of the study (methods without votes appear with score None).
    """
    groups = (ALL,) + GROUPS
    wins = {g: defaultdict(float) for g in groups}
    n_comp = {g: defaultdict(int) for g in groups}
    matrix = {a: {b: 0.0 for b in methods} for a in methods}
    n_votes = Counter()
    ties = Counter()
    raters = {g: set() for g in groups}
    for v in votes:
        for g in (ALL, v["group"]):
            n_votes[g] += 1
            raters[g].add(v["rater"])
            for m in (v["method_a"], v["method_b"]):
                n_comp[g][m] += 1
            if v["winner"] == "tie":
                ties[g] += 1
                wins[g][v["method_a"]] += 0.5
                wins[g][v["method_b"]] += 0.5
            else:
                wins[g][v["winner"]] += 1
        if v["winner"] == "tie":
            matrix[v["method_a"]][v["method_b"]] += 0.5
            matrix[v["method_b"]][v["method_a"]] += 0.5
        else:
            loser = v["method_b"] if v["winner"] == v["method_a"] else v["method_a"]
            matrix[v["winner"]][loser] += 1
    scores = {g: {m: {"wins": wins[g][m], "comparisons": n_comp[g][m],
                      "score": wins[g][m] / n_comp[g][m] if n_comp[g][m] else None} for m in methods}
              for g in groups}

    # Agreement between rater groups: majority label of each group per (image, pair).
    per_item = defaultdict(lambda: {g: [] for g in GROUPS})
    for v in votes:
        per_item[(v["image"], v["method_a"], v["method_b"])][v["group"]].append(v["winner"])
    gx, gy = GROUPS
    both = [(key, _majority(d[gx]), _majority(d[gy])) for key, d in sorted(per_item.items()) if d[gx] and d[gy]]
    agreement = {
        "items_rated_by_both": len(both),
        "majority_agreement": (sum(a == b for _, a, b in both) / len(both)) if both else None,
        "kappa": cohen_kappa([a for _, a, _ in both], [b for _, _, b in both]),
        "by_pair": {},
    }
    # Per method pair: each group's win share of the first method and whether the groups agree on the winner.
    for a_idx, a in enumerate(methods):
        for b in methods[a_idx + 1:]:
            entry = {}
            for g in GROUPS:
                sel = [v for v in votes if v["group"] == g and {v["method_a"], v["method_b"]} == {a, b}]
                w = sum(1.0 if v["winner"] == a else 0.5 if v["winner"] == "tie" else 0.0 for v in sel)
                entry[g] = {"votes": len(sel), "share_first": w / len(sel) if sel else None}
            sx, sy = entry[gx]["share_first"], entry[gy]["share_first"]
            if sx is not None and sy is not None:
                sign = lambda s: (s > 0.5) - (s < 0.5)  # noqa: E731
                entry["agree"] = sign(sx) == sign(sy)
            else:
                entry["agree"] = None
            agreement["by_pair"][f"{a} vs {b}"] = entry
    return {"methods": list(methods), "groups": list(groups), "scores": scores, "matrix": matrix,
            "agreement": agreement, "votes": dict(n_votes), "ties": dict(ties),
            "raters": {g: len(s) for g, s in raters.items()}}


def study_results(conn):
    """``compute_results`` for an open study database."""
    methods = [r[0] for r in conn.execute("SELECT name FROM methods ORDER BY name")]
    return compute_results(load_votes(conn), methods)


def _fmt(x, pct=False):
    if x is None:
        return "-"
    return f"{x:.3f}"


def format_results(res):
    """Plain-text tables: scores by group, win matrix, agreement, counts."""
    methods, groups = res["methods"], res["groups"]
    width = max([len(m) for m in methods] + [8])
    lines = ["Normalised score (wins / comparisons; a tie counts 1/2)",
             f"{'method':<{width}}  " + "  ".join(f"{g:>20}" for g in groups)]
    for m in methods:
        cells = []
        for g in groups:
            s = res["scores"][g][m]
            cells.append(f"{_fmt(s['score'])} ({s['wins']:g}/{s['comparisons']})".rjust(20))
        lines.append(f"{m:<{width}}  " + "  ".join(cells))
    lines += ["", "Head-to-head wins (row beat column, all raters)",
              f"{'':<{width}}  " + "  ".join(f"{m:>{width}}" for m in methods)]
    for a in methods:
        lines.append(f"{a:<{width}}  " + "  ".join(
            f"{'':>{width}}" if a == b else f"{res['matrix'][a][b]:>{width}g}" for b in methods))
    ag = res["agreement"]
    lines += ["", "Agreement between dermatologists and non-dermatologists (majority per image pair)",
              f"  images rated by both groups: {ag['items_rated_by_both']}",
              f"  majority agreement: {_fmt(ag['majority_agreement'])}",
              f"  Cohen's kappa: {_fmt(ag['kappa'])}" + ("" if ag["kappa"] is not None else " (undefined)")]
    for pair, e in ag["by_pair"].items():
        shares = ", ".join(f"{g}: {_fmt(e[g]['share_first'])} of {e[g]['votes']}" for g in GROUPS)
        agree = {True: "agree", False: "DISAGREE", None: "-"}[e["agree"]]
        lines.append(f"  {pair}: first method's win share {shares} -> {agree}")
    lines += ["", "Votes: " + ", ".join(f"{g} {res['votes'].get(g, 0)} ({res['raters'].get(g, 0)} raters,"
                                         f" {res['ties'].get(g, 0)} ties)" for g in groups)]
    return "\n".join(lines)


CSV_FIELDS = ("vote_id", "rater", "group", "image", "method_a", "method_b", "left", "right",
              "choice", "winner", "created_at")


def write_votes_csv(votes, out):
    """Write all votes (anonymised rater ids R001...) to a path or a text stream."""
    if hasattr(out, "write"):
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(votes)
        return
    from skinsr_tf.data.io import atomic_write

    with atomic_write(out, "w", newline="", encoding="utf-8") as f:
        write_votes_csv(votes, f)


def plot_scores(res, out):
    """Grouped bar chart of normalised scores by rater group (PNG; path or binary stream)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    methods, groups = res["methods"], res["groups"]
    fig = Figure(figsize=(max(5.0, 1.4 * len(methods) + 2), 3.6), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / len(groups)
    greys = ("#444444", "#8a8a8a", "#c4c4c4")
    for gi, g in enumerate(groups):
        vals = [res["scores"][g][m]["score"] or 0.0 for m in methods]
        xs = [i + (gi - (len(groups) - 1) / 2) * width for i in range(len(methods))]
        ax.bar(xs, vals, width=width, label=g, color=greys[gi % len(greys)], edgecolor="#222222", linewidth=0.5)
    ax.set_xticks(range(len(methods)))
    ax.set_xticklabels(methods)
    ax.set_ylim(0, 1)
    ax.set_ylabel("wins / comparisons")
    ax.axhline(0.5, color="#999999", linewidth=0.8, linestyle="--")
    ax.legend(frameon=False, fontsize=8, ncol=len(groups), loc="upper center", bbox_to_anchor=(0.5, 1.15))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    if hasattr(out, "write"):
        fig.savefig(out, format="png")
        return
    from skinsr_tf.data.io import atomic_write

    with atomic_write(out) as f:
        fig.savefig(f, format="png")
