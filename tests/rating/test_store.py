import sqlite3

import pytest

from skinsr_tf.rating import store
from skinsr_tf.rating.images import StudyInputError, blind_png

from .conftest import METHODS, make_study, write_pngs


def _folders(tmp_path, stems_by_folder):
    out = {}
    for k, (name, stems) in enumerate(stems_by_folder.items()):
        write_pngs(tmp_path / f"dir_{name}", stems, seed=k)
        out[name] = tmp_path / f"dir_{name}"
    return out


def _assert_nothing_created(study):
    assert not study.exists() or not any(study.iterdir())


def test_create_writes_wal_study_with_design(tmp_path):
    study, token = make_study(tmp_path, n_images=7, hr=True)
    conn = store.connect(study)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT COUNT(*) FROM comparisons").fetchone()[0] == 7
        assert conn.execute("SELECT COUNT(*) FROM assets").fetchone()[0] == 7 * len(METHODS)
        assert conn.execute("SELECT COUNT(*) FROM images WHERE hr_path IS NOT NULL").fetchone()[0] == 7
        assert store.is_admin_token(conn, token) and not store.is_admin_token(conn, token + "x")
        stored = str(store.get_meta(conn))
        assert token not in stored  # only the hash is kept
    finally:
        conn.close()
    assert sorted(p.name for p in study.iterdir()) == sorted([store.DB_NAME, store.SECRET_NAME])
    with pytest.raises(store.StudyError, match="already exists"):
        make_study(tmp_path)


def test_create_error_names_missing_image(tmp_path):
    folders = _folders(tmp_path, {"a": ["x1", "x2", "x3"], "b": ["x1", "x3"]})
    with pytest.raises(StudyInputError) as err:
        store.create_study(tmp_path / "s", folders)
    msg = str(err.value)
    assert "'x2'" in msg and str(tmp_path / "dir_b") in msg and str(tmp_path / "dir_a" / "x2.png") in msg
    _assert_nothing_created(tmp_path / "s")


def test_create_error_names_unreadable_and_truncated_files(tmp_path):
    folders = _folders(tmp_path, {"a": ["x1", "x2"], "b": ["x1", "x2"]})
    (folders["a"] / "x2.png").write_bytes(b"not an image at all")
    data = (folders["b"] / "x1.png").read_bytes()
    (folders["b"] / "x1.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(StudyInputError) as err:
        store.create_study(tmp_path / "s", folders)
    msg = str(err.value)
    assert str(folders["a"] / "x2.png") in msg and str(folders["b"] / "x1.png") in msg
    assert "unreadable" in msg
    _assert_nothing_created(tmp_path / "s")


def test_create_error_mismatched_names_and_hr(tmp_path):
    folders = _folders(tmp_path, {"a": ["lesion1", "lesion2"], "b": ["Lesion1", "lesion2"]})
    write_pngs(tmp_path / "hr", ["lesion2", "other"])
    with pytest.raises(StudyInputError) as err:
        store.create_study(tmp_path / "s", folders, hr=tmp_path / "hr")
    msg = str(err.value)
    for name in ("'lesion1'", "'Lesion1'", "'other'", "HR folder"):
        assert name in msg
    _assert_nothing_created(tmp_path / "s")


def test_create_error_size_mismatch_and_single_method(tmp_path):
    write_pngs(tmp_path / "a", ["x"], size=16)
    write_pngs(tmp_path / "b", ["x"], size=20)
    with pytest.raises(StudyInputError, match="different sizes"):
        store.create_study(tmp_path / "s", {"a": tmp_path / "a", "b": tmp_path / "b"})
    with pytest.raises(StudyInputError, match="at least two methods"):
        store.create_study(tmp_path / "s", {"a": tmp_path / "a"})
    with pytest.raises(StudyInputError, match="not a folder"):
        store.create_study(tmp_path / "s", {"a": tmp_path / "a", "c": tmp_path / "nope"})
    _assert_nothing_created(tmp_path / "s")


def test_rater_assignments_votes_are_idempotent(tmp_path):
    study, _ = make_study(tmp_path, n_images=6, allow_tie=False)
    tok = store.add_rater(study, "Dr X", "dermatologist")
    with pytest.raises(store.StudyError, match="already exists"):
        store.add_rater(study, "Dr X", "non-dermatologist")
    with pytest.raises(store.StudyError, match="unknown rater group"):
        store.add_rater(study, "Y", "nurse")
    conn = store.connect(study)
    try:
        rater = store.rater_for_token(conn, tok)
        assert rater["name"] == "Dr X" and store.rater_for_token(conn, tok[:-1] + ("B" if tok.endswith("A") else "A")) is None
        state = store.rater_state(conn, rater["id"])
        assert (state["done"], state["total"]) == (0, 6)
        item = state["items"][0]["item"]
        assert store.record_vote(conn, rater["id"], item, "left", False) == "stored"
        assert store.record_vote(conn, rater["id"], item, "right", False) == "duplicate"
        assert store.record_vote(conn, rater["id"], "unknown-item", "left", False) is None
        with pytest.raises(ValueError):
            store.record_vote(conn, rater["id"], state["items"][1]["item"], "tie", False)
        rows = conn.execute("SELECT choice, winner_method, left_method FROM votes").fetchall()
        assert len(rows) == 1 and rows[0]["choice"] == "left" and rows[0]["winner_method"] == rows[0]["left_method"]
        assert store.rater_state(conn, rater["id"])["done"] == 1
        with pytest.raises(sqlite3.IntegrityError):  # the UNIQUE constraint itself
            conn.execute("INSERT INTO votes (rater_id, comparison_id, choice, left_method, right_method,"
                         " created_at) SELECT rater_id, comparison_id, 'right', left_method, right_method, 'x'"
                         " FROM votes")
    finally:
        conn.close()


def _left_methods(study, token):
    """{comparison id: name of the method shown on the left} as this rater's browser gets it."""
    conn = store.connect(study)
    try:
        rater_id = store.rater_for_token(conn, token)["id"]
        rows = conn.execute("SELECT comparison_id, left_token FROM assignments WHERE rater_id = ?",
                            (rater_id,)).fetchall()
        method_of_path = {r["path"]: r["name"] for r in conn.execute(
            "SELECT a.path, m.name FROM assets a JOIN methods m ON m.id = a.method_id")}
        return {r["comparison_id"]: method_of_path[store.image_for_token(conn, rater_id, r["left_token"])[0]]
                for r in rows}
    finally:
        conn.close()


@pytest.mark.parametrize("design, n_images", [("groups", 36), ("all-pairs", 12)])
def test_each_method_is_on_the_left_half_the_time_in_a_pattern_per_rater(tmp_path, design, n_images):
    """Position bias: per rater, every method is shown left in exactly half of its comparisons
    (12 per method pair here, an even number), and raters get different layouts."""
    study, _ = make_study(tmp_path, n_images=n_images, design=design)
    conn = store.connect(study)
    try:
        pairs = {r["id"]: {r["a"], r["b"]} for r in conn.execute(
            "SELECT c.id, ma.name AS a, mb.name AS b FROM comparisons c"
            " JOIN methods ma ON ma.id = c.method_a JOIN methods mb ON mb.id = c.method_b")}
    finally:
        conn.close()
    layouts = []
    for name in ("Dr A", "Dr B"):
        left = _left_methods(study, store.add_rater(study, name, "dermatologist"))
        assert set(left) == set(pairs) and all(left[c] in pairs[c] for c in pairs)
        for method in METHODS:
            shown = [c for c in pairs if method in pairs[c]]
            assert len(shown) == 24 and sum(left[c] == method for c in shown) == 12, (name, method)
        layouts.append(left)
    assert layouts[0] != layouts[1]


def test_admin_token_rotation(tmp_path):
    study, old = make_study(tmp_path, n_images=2)
    new = store.rotate_admin_token(study)
    conn = store.connect(study)
    try:
        assert store.is_admin_token(conn, new) and not store.is_admin_token(conn, old)
    finally:
        conn.close()


def test_blind_png_strips_metadata(tmp_path):
    write_pngs(tmp_path, ["x"], meta_text="SECRETMETHOD")
    data = blind_png(tmp_path / "x.png")
    assert data.startswith(b"\x89PNG") and b"SECRETMETHOD" not in data
    for chunk in (b"tEXt", b"iTXt", b"zTXt", b"eXIf", b"iCCP", b"tIME"):
        assert chunk not in data
