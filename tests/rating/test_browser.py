"""End to end in Debian's Chromium (Playwright): vote by click and keys, resume, finish, results, CSV."""

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from skinsr_tf.rating import store

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
METHODS = {"QUETZALSR": 0.0, "OCELOTNET": 1.2, "TAPIRCUBIC": 2.5}  # name -> blur radius
SHOTS = Path("/tmp")


def _wait_loaded(page, selector, timeout_s=10.0):
    """Wait until the <img> at `selector` has decoded. Polled from Python: `page.wait_for_function`
    with a string predicate evaluates it with eval(), which the app's CSP (script-src 'self') refuses
    whenever the first check comes too early."""
    for _ in range(int(timeout_s / 0.1)):
        if page.evaluate(f"document.querySelector({selector!r}).naturalWidth") > 0:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{selector} did not load in {timeout_s} s")


def _lesion(seed, size=128):
    """A small skin-like picture (skin tone, a brown irregular blob, texture) for realistic screenshots."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    r = np.hypot(xx - 0.5 + 0.05 * np.sin(7 * yy + seed), yy - 0.5 + 0.05 * np.cos(5 * xx))
    lesion = np.clip((0.28 + 0.03 * rng.standard_normal((size, size)) - r) * 12, 0, 1)[..., None]
    skin = np.array([224, 180, 160]) + 10 * rng.standard_normal((size, size, 1))
    brown = np.array([110, 70, 50]) + 15 * rng.standard_normal((size, size, 1))
    return np.clip(skin * (1 - lesion) + brown * lesion, 0, 255).astype(np.uint8)


def _make_study(tmp_path):
    folders = {}
    for name, blur in METHODS.items():
        folder = tmp_path / f"out_{name}"
        folder.mkdir()
        for i in range(3):
            img = Image.fromarray(_lesion(i))
            if blur:
                img = img.filter(ImageFilter.GaussianBlur(blur))
            img.save(folder / f"case_KINKAJOU_{i}.png")
        folders[name] = folder
    study = tmp_path / "study"
    admin = store.create_study(study, folders, design="all-pairs", allow_tie=True, seed=1)  # 9 comparisons
    return study, admin


@pytest.mark.browser
def test_rater_and_owner_in_chromium(tmp_path, live_server):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Debian's Chromium is required at {CHROMIUM}: run `apt-get install -y chromium` "
                    "(never `playwright install`)")
    from playwright.sync_api import expect, sync_playwright

    study, admin = _make_study(tmp_path)
    token = store.add_rater(study, "Dr Browser", "dermatologist")
    srv = live_server(study)
    cast = []  # (left image token, choice)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 860}, accept_downloads=True)
            page = context.new_page()
            page.goto(f"{srv.url}/r/{token}")
            progress = page.locator("#progress")
            expect(progress).to_have_text("1 / 9")
            expect(page.locator("#img-left")).to_have_js_property("complete", True)

            def left_token():
                return page.locator("#img-left").get_attribute("src").split("/")[-1]

            def vote(how, choice, expect_next):
                expect(page.locator("#choose-left")).to_be_enabled()  # both images shown
                cast.append((left_token(), choice))
                if how == "click":
                    page.click(f"#choose-{choice}")
                else:
                    page.keyboard.press({"left": "ArrowLeft", "right": "ArrowRight", "tie": "ArrowDown"}[choice])
                expect(progress).to_have_text(expect_next)

            # Synchronised zoom and pan on both images.
            page.click("#zoom-in")
            page.mouse.move(400, 400)
            page.mouse.wheel(0, -300)
            page.mouse.down()
            page.mouse.move(350, 360, steps=4)
            page.mouse.up()
            transforms = page.eval_on_selector_all(".viewport img", "els => els.map(e => e.style.transform)")
            assert transforms[0] == transforms[1] and "scale(1)" not in transforms[0], transforms
            page.screenshot(path=str(SHOTS / "skinsr_rating_zoomed.png"))
            page.click("#zoom-reset")
            page.wait_for_timeout(200)
            page.screenshot(path=str(SHOTS / "skinsr_rating_rater.png"))

            vote("click", "left", "2 / 9")
            vote("key", "right", "3 / 9")
            vote("click", "right", "4 / 9")
            before = left_token()
            page.reload()
            expect(progress).to_have_text("4 / 9")  # resumed where we left off, same layout
            assert left_token() == before
            vote("key", "tie", "5 / 9")
            vote("key", "left", "6 / 9")
            vote("click", "tie", "7 / 9")
            vote("key", "right", "8 / 9")
            vote("key", "left", "9 / 9")
            expect(page.locator("#choose-left")).to_be_enabled()
            cast.append((left_token(), "left"))
            page.keyboard.press("ArrowLeft")
            expect(page.locator("#done")).to_be_visible()
            expect(progress).to_be_hidden()
            page.screenshot(path=str(SHOTS / "skinsr_rating_done.png"))

            page.goto(f"{srv.url}/admin/{admin}")
            expect(page.locator("h1")).to_have_text("Reader study results")
            expect(page.locator("#counts")).to_contain_text("all: 9 votes from 1 rater;")
            _wait_loaded(page, "img.chart")
            page.screenshot(path=str(SHOTS / "skinsr_rating_results.png"), full_page=True)
            with page.expect_download() as info:
                page.click("#csv-link")
            csv_text = Path(info.value.path()).read_text()
            score_cells = {(c.get_attribute("data-group"), c.get_attribute("data-method")): c.inner_text()
                           for c in page.locator("#scores td").all()}
        finally:
            browser.close()

    # The CSV and the page agree with the votes cast in the browser.
    conn = store.connect(study)
    try:
        expected = {}
        for left_tok, choice in cast:
            row = conn.execute(
                "SELECT i.stem, ma.name AS a, mb.name AS b, a.swapped FROM assignments a"
                " JOIN comparisons c ON c.id = a.comparison_id JOIN images i ON i.id = c.image_id"
                " JOIN methods ma ON ma.id = c.method_a JOIN methods mb ON mb.id = c.method_b"
                " WHERE a.left_token = ?", (left_tok,)).fetchone()
            left = row["b"] if row["swapped"] else row["a"]
            right = row["a"] if row["swapped"] else row["b"]
            expected[(row["stem"], row["a"], row["b"])] = (choice, {"left": left, "right": right, "tie": "tie"}[choice])
    finally:
        conn.close()
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert len(rows) == 9 == len(expected)
    got = {(r["image"], r["method_a"], r["method_b"]): (r["choice"], r["winner"]) for r in rows}
    assert got == expected
    assert {r["rater"] for r in rows} == {"R001"} and "Browser" not in csv_text
    for name in METHODS:
        wins = sum(1.0 if w == name else 0.5 if w == "tie" and name in k[1:] else 0.0 for k, (_, w) in got.items())
        n = sum(name in k[1:] for k in got)
        assert score_cells[("all", name)].startswith(f"{wins / n:.3f}")


@pytest.mark.browser
def test_second_question_with_detail_maps_in_chromium(tmp_path, live_server):
    """--show-maps: the blind choice first, then each image's invented-detail map and the question."""
    from playwright.sync_api import expect, sync_playwright

    from skinsr_tf.consistency import map_images
    from skinsr_tf.data.resize import imresize

    hr = _lesion(0)
    lr = imresize(hr, 0.25)
    folders = {}
    for name, sr in {"QUETZALSR": hr, "TAPIRCUBIC": imresize(lr, 4)}.items():
        folder = tmp_path / f"out_{name}"
        folder.mkdir()
        Image.fromarray(sr).save(folder / "case_KINKAJOU_0.png")
        Image.fromarray(map_images(sr, lr, 4, names=("invented",))["invented"]).save(
            folder / "case_KINKAJOU_0_invented.png")
        folders[name] = folder
    study = tmp_path / "study"
    store.create_study(study, folders, design="all-pairs", show_maps=True)
    token = store.add_rater(study, "Dr Browser", "dermatologist")
    srv = live_server(study)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 860}).new_page()
            page.goto(f"{srv.url}/r/{token}")
            expect(page.locator("#map-question")).to_be_hidden()
            expect(page.locator("#choose-left")).to_be_enabled()
            page.click("#choose-left")
            expect(page.locator("#map-question")).to_be_visible()
            for side in ("left", "right"):
                _wait_loaded(page, f"#map-{side}")
            expect(page.locator("#choose-right")).to_be_disabled()  # one vote per pair
            page.screenshot(path=str(SHOTS / "skinsr_rating_maps.png"))
            page.click("button.answer[data-answer='partly']")
            expect(page.locator("#done")).to_be_visible()
        finally:
            browser.close()
    conn = store.connect(study)
    try:
        assert store.map_answer_counts(conn) == {"dermatologist": {"yes": 0, "partly": 1, "no": 0}}
        assert conn.execute("SELECT COUNT(*) FROM votes").fetchone()[0] == 1
    finally:
        conn.close()
