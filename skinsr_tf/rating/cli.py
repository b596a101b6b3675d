"""``skinsr-tf rate ...``: create, invite, admin-link, serve, results.

``register(subparsers)`` adds the ``rate`` command to an argparse sub-parser set; each leaf sets
``func`` (called with the parsed namespace, returns an exit code). Flask, waitress and matplotlib
are imported only when a command runs.
"""

import argparse
import sys

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def _method(spec):
    name, sep, folder = spec.partition("=")
    if not sep or not name.strip() or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=FOLDER, got {spec!r}")
    return name.strip(), folder


def _link(base_url, kind, token):
    return f"{base_url.rstrip('/')}/{kind}/{token}"


def _create(args):
    from skinsr_tf.rating import store

    methods = {}
    for name, folder in args.method:
        if name in methods:
            raise SystemExit(f"error: method {name!r} given twice")
        methods[name] = folder
    token = store.create_study(args.study, methods, hr=args.hr, design=args.design, seed=args.seed,
                               allow_tie=args.allow_tie, show_maps=args.show_maps)
    conn = store.connect(args.study)
    try:
        n_cmp = conn.execute("SELECT COUNT(*) FROM comparisons").fetchone()[0]
        n_img = conn.execute("SELECT COUNT(*) FROM images").fetchone()[0]
    finally:
        conn.close()
    print(f"Created study in {args.study}: {len(methods)} methods, {n_img} images, {n_cmp} comparisons "
          f"({args.design}, seed {args.seed}).")
    print("Admin link (results; keep it private, it is shown only now):")
    print("  " + _link(args.base_url, "admin", token))
    return 0


def _invite(args):
    from skinsr_tf.rating import store

    token = store.add_rater(args.study, args.rater, args.group)
    print(_link(args.base_url, "r", token))
    return 0


def _admin_link(args):
    from skinsr_tf.rating import store

    token = store.rotate_admin_token(args.study)
    print("New admin link (the previous one no longer works):")
    print("  " + _link(args.base_url, "admin", token))
    return 0


def _serve(args):
    from skinsr_tf.rating.app import serve

    def announce(url):
        print(f"Serving {args.study} on {url} with waitress ({args.threads} threads); Ctrl+C to stop", flush=True)

    try:
        serve(args.study, host=args.host, port=args.port, threads=args.threads, announce=announce)
    except OSError as exc:  # the port is taken, or the address is not ours
        print(f"error: cannot serve on {args.host}:{args.port} ({exc.strerror or exc})", file=sys.stderr)
        return 2
    return 0


def _results(args):
    from skinsr_tf.rating import store
    from skinsr_tf.rating.results import compute_results, format_results, load_votes, plot_scores, write_votes_csv

    conn = store.connect(args.study)
    try:
        votes = load_votes(conn)
        methods = [r[0] for r in conn.execute("SELECT name FROM methods ORDER BY name")]
        map_counts = store.map_answer_counts(conn)
    finally:
        conn.close()
    res = compute_results(votes, methods)
    print(format_results(res))
    for group, counts in sorted(map_counts.items()):
        print(f"Do the maps mark what you distrust? ({group}): "
              + ", ".join(f"{answer} {n}" for answer, n in counts.items()))
    if args.csv:
        write_votes_csv(votes, args.csv)
        print(f"Wrote {len(votes)} votes to {args.csv}")
    if args.chart:
        plot_scores(res, args.chart)
        print(f"Wrote chart to {args.chart}")
    return 0


def register(subparsers):
    """Add ``rate`` and its sub-commands to an argparse ``subparsers`` object; returns its parser."""
    from skinsr_tf.rating import GROUPS
    from skinsr_tf.rating.design import DESIGNS

    rate = subparsers.add_parser("rate", help="blind pairwise reader study (create, invite, serve, results)",
                                 description="Blind pairwise reader study of SR methods (the report's design).")
    sub = rate.add_subparsers(dest="rate_command", metavar="COMMAND")
    sub.required = True

    def study_arg(p):
        p.add_argument("--study", required=True, metavar="DIR", help="study folder (holds study.sqlite)")

    p = sub.add_parser("create", help="create a study from folders of SR outputs")
    study_arg(p)
    p.add_argument("--method", action="append", type=_method, required=True, metavar="NAME=FOLDER",
                   help="a method and its folder of outputs (same file names in every folder); repeat")
    p.add_argument("--hr", metavar="FOLDER", help="HR references (stored, not shown to raters)")
    p.add_argument("--design", choices=DESIGNS, default="groups",
                   help="groups: images split evenly among method pairs (the report); "
                        "all-pairs: every pair on every image")
    p.add_argument("--seed", type=int, default=0, help="seed of the image split (default 0)")
    p.add_argument("--allow_tie", action="store_true", help="offer a \"can't tell\" choice")
    p.add_argument("--show_maps", action="store_true",
                   help="after each (blind) choice, show each image's invented-detail map "
                        "(NAME_invented.png from `skinsr-tf upscale --maps`) and ask a second, "
                        "non-blind question: do the maps mark what you distrust? (off by default)")
    p.add_argument("--base_url", default=DEFAULT_BASE_URL,
                   help=f"server address for links (default {DEFAULT_BASE_URL})")
    p.set_defaults(func=_guarded(_create))

    p = sub.add_parser("invite", help="add a rater and print their personal link")
    study_arg(p)
    p.add_argument("--rater", required=True, metavar="NAME", help="rater name (kept private; anonymised in exports)")
    p.add_argument("--group", required=True, choices=GROUPS)
    p.add_argument("--base_url", default=DEFAULT_BASE_URL)
    p.set_defaults(func=_guarded(_invite))

    p = sub.add_parser("admin-link", help="issue a new admin (results) link; the old one stops working")
    study_arg(p)
    p.add_argument("--base_url", default=DEFAULT_BASE_URL)
    p.set_defaults(func=_guarded(_admin_link))

    p = sub.add_parser("serve", help="serve the study (waitress)")
    study_arg(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--threads", type=int, default=8)
    p.set_defaults(func=_guarded(_serve))

    p = sub.add_parser("results", help="scores by rater group, win matrix, agreement; CSV and chart")
    study_arg(p)
    p.add_argument("--csv", metavar="PATH", help="write all votes (anonymised raters) as CSV")
    p.add_argument("--chart", metavar="PATH", help="write a bar chart of the scores (PNG)")
    p.set_defaults(func=_guarded(_results))
    return rate


def _guarded(command):
    """Wrap a command so that study errors print one clear message and return exit code 2."""

    def run(args):
        from skinsr_tf.rating.images import StudyInputError
        from skinsr_tf.rating.store import StudyError

        try:
            return command(args)
        except (StudyError, StudyInputError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2

    run.__name__ = command.__name__
    return run


def main(argv=None):
    """Stand-alone entry point: ``python -m skinsr_tf.rating ...`` (same as ``skinsr-tf rate ...``)."""
    parser = argparse.ArgumentParser(prog="python -m skinsr_tf.rating")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    register(sub)
    from skinsr_tf import console

    argv = console.absl_argv(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "rate":
        argv = ["rate"] + argv
    args = parser.parse_args(argv)
    return args.func(args)
