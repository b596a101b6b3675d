"""Security and blindness of the web tool (Flask test client; the load test uses a real server)."""

import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from skinsr_tf.rating import store
from skinsr_tf.rating.app import create_app

from .conftest import METHODS, make_study


@pytest.fixture
def study(tmp_path):
    study_dir, admin = make_study(tmp_path, n_images=6, design="all-pairs")  # 18 comparisons
    tokens = {name: store.add_rater(study_dir, name, grp)
              for name, grp in (("Dr ALPACARATER", "dermatologist"), ("Mr BEAVERRATER", "non-dermatologist"))}
    app = create_app(study_dir)
    app.testing = True
    return {"dir": study_dir, "admin": admin, "tokens": tokens, "app": app, "tmp": tmp_path}


def _login(app, token):
    client = app.test_client()
    resp = client.get(f"/r/{token}")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/rate")
    page = client.get("/rate").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return client, csrf


def _vote(client, csrf, item, choice="left", **headers):
    hdrs = {"X-CSRF-Token": csrf} if csrf is not None else {}
    hdrs.update(headers)
    return client.post("/api/vote", data=json.dumps({"item": item, "choice": choice}),
                       content_type="application/json", headers=hdrs)


def _n_votes(study_dir):
    conn = store.connect(study_dir)
    try:
        return conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0]
    finally:
        conn.close()


def test_no_or_wrong_token_is_refused(study):
    app, admin = study["app"], study["admin"]
    rater_tok = study["tokens"]["Dr ALPACARATER"]
    c = app.test_client()
    for path in ("/rate", "/api/state", "/img/AAAAAAAAAAAAAAAAAAAAAA", "/results", "/results/votes.csv",
                 "/results/chart.png"):
        assert c.get(path).status_code == 403, path
    assert c.post("/api/vote", json={"item": "x", "choice": "left"}).status_code == 403
    for bad in ("A" * 43, rater_tok[:-2] + "xx", "short", admin):
        assert c.get(f"/r/{bad}").status_code == 403
    for bad in ("A" * 43, admin[:-2] + "xx", rater_tok):
        assert c.get(f"/admin/{bad}").status_code == 403
    rc, _ = _login(app, rater_tok)
    assert rc.get("/results").status_code == 403  # a rater is not the study owner
    ac = app.test_client()
    assert ac.get(f"/admin/{admin}").status_code == 303
    assert ac.get("/results").status_code == 200
    assert ac.get("/rate").status_code == 403  # the owner is not a rater


def test_csrf_missing_wrong_or_cross_origin_is_refused(study):
    client, csrf = _login(study["app"], study["tokens"]["Dr ALPACARATER"])
    item = client.get("/api/state").get_json()["items"][0]["item"]
    assert _vote(client, None, item).status_code == 403
    assert _vote(client, "x" * 43, item).status_code == 403
    assert _vote(client, csrf, item, Origin="http://evil.example").status_code == 403
    assert _vote(client, csrf, item, Origin="null").status_code == 403
    assert _vote(client, csrf, item, Origin="http://localhost.evil.example").status_code == 403
    assert _vote(client, csrf, item, **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    other, other_csrf = _login(study["app"], study["tokens"]["Mr BEAVERRATER"])
    assert _vote(client, other_csrf, item).status_code == 403  # another session's token
    assert _n_votes(study["dir"]) == 0
    ok = _vote(client, csrf, item, Origin="http://localhost", **{"Sec-Fetch-Site": "same-origin"})
    assert ok.status_code == 200 and ok.get_json()["status"] == "stored"
    assert _n_votes(study["dir"]) == 1


def test_double_vote_stored_once_and_other_raters_items_refused(study):
    client, csrf = _login(study["app"], study["tokens"]["Dr ALPACARATER"])
    state = client.get("/api/state").get_json()
    item = state["items"][0]["item"]
    first = _vote(client, csrf, item, "left").get_json()
    second = _vote(client, csrf, item, "right").get_json()
    assert (first["status"], second["status"]) == ("stored", "duplicate")
    assert first["done"] == second["done"] == 1
    assert _n_votes(study["dir"]) == 1
    other, other_csrf = _login(study["app"], study["tokens"]["Mr BEAVERRATER"])
    assert _vote(other, other_csrf, state["items"][1]["item"]).status_code == 404
    assert _vote(client, csrf, state["items"][1]["item"], "tie").status_code == 400  # ties not enabled
    assert _vote(client, csrf, "../../study.sqlite").status_code == 404
    assert _n_votes(study["dir"]) == 1


def test_image_routes_refuse_traversal_unknown_and_foreign_ids(study):
    client, _ = _login(study["app"], study["tokens"]["Dr ALPACARATER"])
    other, _ = _login(study["app"], study["tokens"]["Mr BEAVERRATER"])
    mine = client.get("/api/state").get_json()["items"][0]
    assert client.get(f"/img/{mine['left']}").status_code == 200
    assert other.get(f"/img/{mine['left']}").status_code == 404  # not the other rater's comparison
    for path in ("/img/..%2f..%2fstudy.sqlite", "/img/../study.sqlite", "/img/%2e%2e%2fstudy.sqlite",
                 "/img/" + "A" * 22, "/img/", "/static/..%2fstore.py", "/static/../store.py",
                 "/img/..%5c..%5cstudy.sqlite", "/study.sqlite", "/cache"):
        resp = client.get(path)
        assert resp.status_code == 404, path
        assert b"SQLite format" not in resp.data and b"import" not in resp.data


def test_left_right_stable_on_reload(study):
    client, _ = _login(study["app"], study["tokens"]["Dr ALPACARATER"])
    first = client.get("/api/state").get_json()
    assert client.get("/api/state").get_json() == first
    again, _ = _login(study["app"], study["tokens"]["Dr ALPACARATER"])  # new browser, same link
    assert again.get("/api/state").get_json() == first


def _pixels(data):
    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG" and not im.info  # no text / ICC / EXIF / dpi
        return np.asarray(im.convert("RGB"))


def test_whole_study_is_blind_and_images_match_recorded_sides(study):
    """Everything a rater receives, for a whole study, names no method, folder or file."""
    client, csrf = _login(study["app"], study["tokens"]["Dr ALPACARATER"])
    received = []

    def get(path):
        resp = client.get(path)
        assert resp.status_code == 200, path
        received.append((path, resp))
        return resp

    for path in ("/rate", "/static/rate.js", "/static/rate.css", "/api/state", "/"):
        get(path)
    served = {}
    rng = np.random.default_rng(0)
    while True:
        state = get("/api/state").get_json()
        if not state["items"]:
            break
        item = state["items"][0]
        left, right = get(f"/img/{item['left']}").data, get(f"/img/{item['right']}").data
        choice = ["left", "right"][rng.integers(2)]
        resp = _vote(client, csrf, item["item"], choice)
        assert resp.status_code == 200
        received.append(("/api/vote", resp))
        get("/rate")
        served[item["item"]] = (choice, _pixels(left), _pixels(right))
    assert len(served) == 18

    forbidden = set(METHODS) | set(METHODS.values()) | {"PANGOLIN", "lesion", str(study["tmp"]), "ALPACARATER",
                                                        "study.sqlite"}
    for path, resp in received:
        blob = (resp.get_data() + str(resp.headers).encode()).lower()
        for word in forbidden:
            assert word.lower().encode() not in blob, (word, path)
        assert "ETag" not in resp.headers and "Content-Disposition" not in resp.headers
        if path.startswith("/img/"):
            assert resp.headers["Content-Type"] == "image/png"

    # The image shown on each side is the recorded method's output for that image.
    conn = store.connect(study["dir"])
    try:
        for item, (choice, left_px, right_px) in served.items():
            row = conn.execute(
                "SELECT v.choice, v.left_method, v.right_method, v.winner_method, c.image_id FROM votes v"
                " JOIN assignments a ON a.comparison_id = v.comparison_id AND a.rater_id = v.rater_id"
                " JOIN comparisons c ON c.id = v.comparison_id WHERE a.item_token = ?", (item,)).fetchone()
            assert row["choice"] == choice
            assert row["winner_method"] == (row["left_method"] if choice == "left" else row["right_method"])
            for method, px in ((row["left_method"], left_px), (row["right_method"], right_px)):
                path = conn.execute("SELECT path FROM assets WHERE image_id = ? AND method_id = ?",
                                    (row["image_id"], method)).fetchone()[0]
                assert np.array_equal(px, np.asarray(Image.open(path).convert("RGB")))
    finally:
        conn.close()
    page = client.get("/rate").get_data(as_text=True)
    assert '"items": []' in page or '"items":[]' in page  # finished: nothing left to show


def _map_study(tmp_path, show_maps):
    """A study whose method folders also hold the `upscale --maps` files beside each output."""
    from .conftest import STEM, write_pngs

    stems = [STEM.format(i) for i in range(3)]
    folders = {}
    for k, (name, folder) in enumerate(METHODS.items()):
        write_pngs(tmp_path / folder, stems, seed=k)
        write_pngs(tmp_path / folder, [f"{s}_invented" for s in stems], seed=10 + k, meta_text=name)
        write_pngs(tmp_path / folder, [f"{s}_contradiction" for s in stems], seed=20 + k)
    study_dir = tmp_path / "study"
    store.create_study(study_dir, {n: tmp_path / f for n, f in METHODS.items()}, design="all-pairs",
                       show_maps=show_maps)
    token = store.add_rater(study_dir, "Dr ALPACARATER", "dermatologist")
    app = create_app(study_dir)
    app.testing = True
    return study_dir, app, token


def test_maps_are_never_study_images_and_are_off_by_default(tmp_path):
    study_dir, app, token = _map_study(tmp_path, show_maps=False)
    conn = store.connect(study_dir)
    try:
        stems = [r[0] for r in conn.execute("SELECT stem FROM images")]
        assert store.get_meta(conn)["show_maps"] == "0"
    finally:
        conn.close()
    assert len(stems) == 3 and not any(s.endswith(("_invented", "_contradiction")) for s in stems)
    client, csrf = _login(app, token)
    assert 'data-show-maps="0"' in client.get("/rate").get_data(as_text=True)
    item = client.get("/api/state").get_json()["items"][0]
    assert _vote(client, csrf, item["item"]).status_code == 200
    assert client.get(f"/map/{item['left']}").status_code == 404
    resp = client.post("/api/map-answer", json={"item": item["item"], "answer": "yes"},
                       headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 404


def test_show_maps_serves_maps_after_the_vote_and_records_the_second_answer(tmp_path):
    study_dir, app, token = _map_study(tmp_path, show_maps=True)
    client, csrf = _login(app, token)
    assert 'data-show-maps="1"' in client.get("/rate").get_data(as_text=True)
    item = client.get("/api/state").get_json()["items"][0]
    assert client.get(f"/map/{item['left']}").status_code == 404  # not before the blind choice
    answer = lambda value, **hdrs: client.post(  # noqa: E731
        "/api/map-answer", json={"item": item["item"], "answer": value}, headers=hdrs)
    assert answer("yes", **{"X-CSRF-Token": csrf}).status_code == 404  # nor the second question
    assert _vote(client, csrf, item["item"]).status_code == 200
    left = client.get(f"/map/{item['left']}")
    assert left.status_code == 200 and left.headers["Content-Type"] == "image/png"
    assert b"ZEBRAFINCH" not in left.data and b"MARMOSET" not in left.data  # re-encoded blind
    shown = _pixels(left.data)
    conn = store.connect(study_dir)
    try:
        path, _ = store.image_for_token(conn, 1, item["left"])
    finally:
        conn.close()
    expected = np.asarray(Image.open(path.replace(".png", "_invented.png")).convert("RGB"))
    assert np.array_equal(shown, expected)  # the map of the very image shown on that side
    assert answer("yes").status_code == 403  # CSRF token required
    assert answer("maybe", **{"X-CSRF-Token": csrf}).status_code == 400
    assert answer("partly", **{"X-CSRF-Token": csrf}).get_json()["status"] == "stored"
    assert answer("no", **{"X-CSRF-Token": csrf}).get_json()["status"] == "duplicate"
    conn = store.connect(study_dir)
    try:
        assert store.map_answer_counts(conn) == {"dermatologist": {"yes": 0, "partly": 1, "no": 0}}
    finally:
        conn.close()


def test_show_maps_needs_a_map_for_every_output(tmp_path):
    from skinsr_tf.rating.images import StudyInputError

    from .conftest import make_study

    with pytest.raises(StudyInputError, match="upscale --maps"):
        make_study(tmp_path, n_images=2, design="all-pairs", show_maps=True)


def test_admin_sessions_end_when_the_admin_link_is_rotated(study):
    app, admin = study["app"], study["admin"]
    client = app.test_client()
    assert client.get(f"/admin/{admin}").status_code == 303
    assert client.get("/results").status_code == 200
    new = store.rotate_admin_token(study["dir"])
    for path in ("/results", "/results/votes.csv", "/results/chart.png"):
        assert client.get(path).status_code == 403, path
    assert client.get(f"/admin/{admin}").status_code == 403
    assert client.get(f"/admin/{new}").status_code == 303 and client.get("/results").status_code == 200


def _database_strings(study_dir):
    """Every text value stored anywhere in the study database."""
    conn = store.connect(study_dir)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        found = set()
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                found.update(str(v) for v in row if v is not None)
        return found
    finally:
        conn.close()


def test_a_cookie_signed_with_anything_in_the_database_is_refused(study):
    from flask import Flask

    app, rater = study["app"], study["tokens"]["Dr ALPACARATER"]
    client, _ = _login(app, rater)
    state = client.get("/api/state").get_json()
    item = state["items"][0]["item"]
    conn = store.connect(study["dir"])
    try:
        rid = store.rater_for_token(conn, rater)["id"]
        epoch = store.get_meta(conn).get("admin_epoch")
    finally:
        conn.close()
    def forged_client(key):
        forger = Flask("forger")
        forger.secret_key = key
        serializer = app.session_interface.get_signing_serializer(forger)
        cookie = serializer.dumps({"rid": rid, "csrf": "forged-csrf-token", "admin": epoch or True,
                                   "_permanent": True})
        c = app.test_client()
        c.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
        return c

    candidates = _database_strings(study["dir"])
    assert len(candidates) > 50
    for key in sorted(candidates):
        c = forged_client(key)
        assert c.get("/results").status_code == 403, key
        assert _vote(c, "forged-csrf-token", item).status_code == 403, key
    assert _n_votes(study["dir"]) == 0
    assert forged_client(app.secret_key).get("/results").status_code == 200  # the forgery itself works


def test_deeply_nested_json_vote_is_a_400(study):
    client, csrf = _login(study["app"], study["tokens"]["Dr ALPACARATER"])
    resp = client.post("/api/vote", data="[" * 8000, content_type="application/json",
                       headers={"X-CSRF-Token": csrf})
    assert resp.status_code == 400


def test_study_files_are_private(study):
    client, csrf = _login(study["app"], study["tokens"]["Dr ALPACARATER"])
    item = client.get("/api/state").get_json()["items"][0]
    assert client.get(f"/img/{item['left']}").status_code == 200  # fills the image cache
    conn = store.connect(study["dir"])  # an open connection keeps the -wal and -shm files
    try:
        assert _vote(client, csrf, item["item"]).status_code == 200
        files = [p for p in study["dir"].rglob("*") if p.is_file()]
        names = {p.name for p in files}
        assert {store.DB_NAME, store.DB_NAME + "-wal", store.DB_NAME + "-shm"} <= names
        assert any(p.parent.name == store.CACHE_DIR for p in files)
        for p in files:
            assert p.stat().st_mode & 0o077 == 0, f"{p} is mode {oct(p.stat().st_mode & 0o777)}"
        assert (study["dir"] / store.CACHE_DIR).stat().st_mode & 0o077 == 0
    finally:
        conn.close()
