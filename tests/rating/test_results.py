import csv
import io

import pytest
from PIL import Image

from skinsr_tf.rating import store
from skinsr_tf.rating.results import (CSV_FIELDS, cohen_kappa, compute_results, format_results, load_votes,
                                      plot_scores, study_results, write_votes_csv)

from .conftest import make_study


def _v(rater, group, image, a, b, winner):
    return {"rater": rater, "group": group, "image": image, "method_a": a, "method_b": b, "winner": winner}


HAND_VOTES = [
    _v("R001", "dermatologist", "img1", "a", "b", "a"),
    _v("R001", "dermatologist", "img2", "a", "c", "c"),
    _v("R002", "non-dermatologist", "img1", "a", "b", "a"),
    _v("R002", "non-dermatologist", "img2", "a", "c", "a"),
    _v("R003", "non-dermatologist", "img1", "a", "b", "b"),
    _v("R003", "non-dermatologist", "img3", "b", "c", "tie"),
]


def test_scores_by_group_on_hand_made_votes():
    res = compute_results(HAND_VOTES, ["a", "b", "c"])
    score = lambda g, m: res["scores"][g][m]["score"]  # noqa: E731
    assert score("all", "a") == pytest.approx(3 / 5)
    assert score("all", "b") == pytest.approx(1.5 / 4)
    assert score("all", "c") == pytest.approx(1.5 / 3)
    assert (score("dermatologist", "a"), score("dermatologist", "b"), score("dermatologist", "c")) == (0.5, 0.0, 1.0)
    assert score("non-dermatologist", "a") == pytest.approx(2 / 3)
    assert score("non-dermatologist", "b") == pytest.approx(0.5)
    assert score("non-dermatologist", "c") == pytest.approx(0.5 / 2)
    assert res["scores"]["all"]["a"]["comparisons"] == 5
    m = res["matrix"]
    assert (m["a"]["b"], m["b"]["a"], m["a"]["c"], m["c"]["a"], m["b"]["c"], m["c"]["b"]) == (2, 1, 1, 1, 0.5, 0.5)
    assert res["votes"] == {"all": 6, "dermatologist": 2, "non-dermatologist": 4}
    assert res["ties"] == {"all": 1, "non-dermatologist": 1}
    assert res["raters"] == {"all": 3, "dermatologist": 1, "non-dermatologist": 2}


def test_group_agreement_on_hand_made_votes():
    ag = compute_results(HAND_VOTES, ["a", "b", "c"])["agreement"]
    # img1: derm majority a, non-derm split a/b -> "tie"; img2: derm c, non-derm a; img3 only non-derm.
    assert ag["items_rated_by_both"] == 2
    assert ag["majority_agreement"] == 0.0
    assert ag["kappa"] == pytest.approx(-1 / 3)
    assert ag["by_pair"]["a vs b"]["dermatologist"] == {"votes": 1, "share_first": 1.0}
    assert ag["by_pair"]["a vs b"]["non-dermatologist"] == {"votes": 2, "share_first": 0.5}
    assert ag["by_pair"]["a vs b"]["agree"] is False
    assert ag["by_pair"]["b vs c"]["agree"] is None


def test_cohen_kappa():
    assert cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.5)
    assert cohen_kappa(["a", "b"], ["a", "b"]) == pytest.approx(1.0)
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # chance agreement 1: undefined
    assert cohen_kappa([], []) is None


def test_csv_and_chart_from_a_study(tmp_path):
    study, _ = make_study(tmp_path, n_images=6, allow_tie=True)
    store.add_rater(study, "Dr Secretname", "dermatologist")
    store.add_rater(study, "Mr Othername", "non-dermatologist")
    conn = store.connect(study)
    cast = {}
    try:
        for rid, choices in ((1, ["left", "right", "tie"]), (2, ["right", "right"])):
            for item, choice in zip(store.rater_state(conn, rid, lookahead=10)["items"], choices):
                assert store.record_vote(conn, rid, item["item"], choice, True) == "stored"
                cast[(rid, item["item"])] = choice
        votes = load_votes(conn)
        res = study_results(conn)
    finally:
        conn.close()
    buf = io.StringIO()
    write_votes_csv(votes, buf)
    text = buf.getvalue()
    assert "Secretname" not in text and "Othername" not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_FIELDS and len(rows) == 5
    assert sorted(r["rater"] for r in rows) == ["R001"] * 3 + ["R002"] * 2
    for r in rows:
        expected = {"left": r["left"], "right": r["right"], "tie": "tie"}[r["choice"]]
        assert r["winner"] == expected
        assert {r["left"], r["right"]} == {r["method_a"], r["method_b"]}
    assert sorted(r["choice"] for r in rows) == sorted(cast.values())
    assert res["votes"]["all"] == 5 and res["ties"]["all"] == 1
    assert "Cohen's kappa" in format_results(res)
    write_votes_csv(votes, tmp_path / "v.csv")
    assert (tmp_path / "v.csv").read_text() == text
    plot_scores(res, tmp_path / "chart.png")
    with Image.open(tmp_path / "chart.png") as im:
        assert im.format == "PNG" and im.size[0] > 300
