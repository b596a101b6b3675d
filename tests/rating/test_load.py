"""Load: 50 concurrent raters x 20 votes against a real waitress server on loopback."""

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from skinsr_tf.rating import store

from .conftest import make_study

N_RATERS, N_VOTES = 50, 20


def _rater(url, token, barrier, timings):
    s = requests.Session()
    page = s.get(f"{url}/r/{token}", timeout=30)
    assert page.status_code == 200
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    headers = {"X-CSRF-Token": csrf, "Origin": url}
    state = s.get(f"{url}/api/state", timeout=30).json()
    barrier.wait(timeout=60)
    t0 = time.perf_counter()
    cast = {}
    first = None
    while state["items"]:
        item = state["items"][0]
        img = s.get(f"{url}/img/{item['left']}", timeout=30)
        assert img.status_code == 200 and img.content.startswith(b"\x89PNG")
        choice = "left" if len(cast) % 3 else "right"
        r = s.post(f"{url}/api/vote", json={"item": item["item"], "choice": choice}, headers=headers, timeout=30)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "stored"
        cast[item["item"]] = choice
        first = first or (item["item"], choice)
        state = r.json()
    # A double submit (as from a double click) must not create a second vote.
    r = s.post(f"{url}/api/vote", json={"item": first[0], "choice": "left"}, headers=headers, timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    timings.append(time.perf_counter() - t0)
    return cast


def test_fifty_concurrent_raters_no_vote_lost(tmp_path, live_server):
    study, _ = make_study(tmp_path, n_images=N_VOTES)  # 3 methods, groups design: 20 comparisons
    tokens = [store.add_rater(study, f"rater{i}", "dermatologist" if i % 5 == 0 else "non-dermatologist")
              for i in range(N_RATERS)]
    srv = live_server(study, threads=8)
    barrier, timings = threading.Barrier(N_RATERS), []
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=N_RATERS) as pool:
        futures = [pool.submit(_rater, srv.url, tok, barrier, timings) for tok in tokens]
        results = [f.result(timeout=240) for f in futures]
    wall = time.perf_counter() - t0
    n_votes = sum(len(r) for r in results)
    assert n_votes == N_RATERS * N_VOTES

    conn = store.connect(study)
    try:
        assert conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0] == N_RATERS * N_VOTES
        assert conn.execute("SELECT COUNT(DISTINCT rater_id || '-' || comparison_id) FROM votes").fetchone()[0] == 1000
        stored = {r["item_token"]: r["choice"] for r in conn.execute(
            "SELECT a.item_token, v.choice FROM votes v JOIN assignments a"
            " ON a.rater_id = v.rater_id AND a.comparison_id = v.comparison_id")}
    finally:
        conn.close()
    cast = {k: v for r in results for k, v in r.items()}
    assert stored == cast  # every vote stored exactly once, with the side the rater chose
    requests_made = N_RATERS * (2 * N_VOTES + 1)
    print(f"\nload: {n_votes} votes from {N_RATERS} concurrent raters in {max(timings):.2f} s "
          f"(voting phase; {wall:.2f} s incl. login) = {n_votes / max(timings):.0f} votes/s, "
          f"{requests_made / max(timings):.0f} requests/s (each vote: 1 image GET + 1 POST)")
