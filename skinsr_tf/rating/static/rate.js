// Rater page: blind pairwise choice with synchronised zoom and pan. No names ever reach this page.
(function () {
  "use strict";
  const root = document.getElementById("study");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const allowTie = root.dataset.allowTie === "1";
  const showMaps = root.dataset.showMaps === "1";
  const imgs = [document.getElementById("img-left"), document.getElementById("img-right")];
  const vps = [document.getElementById("vp-left"), document.getElementById("vp-right")];
  // Optional second, non-blind question: after each vote, the invented-detail maps below the images.
  const mapImgs = showMaps ? [document.getElementById("map-left"), document.getElementById("map-right")] : [];
  const mapVps = showMaps ? [document.getElementById("vpm-left"), document.getElementById("vpm-right")] : [];
  const question = document.getElementById("map-question");
  const answers = Array.from(document.querySelectorAll("button.answer"));
  let asking = null;  // the voted item whose maps are shown
  const progress = document.getElementById("progress");
  const status = document.getElementById("status");
  const buttons = Array.from(document.querySelectorAll("button.choose"));
  let state = JSON.parse(document.getElementById("state").textContent);
  let busy = false;
  let pending = 0;  // images of the current pair still loading: no vote before both are shown
  const view = { s: 1, x: 0, y: 0 };

  function apply() {
    const w = vps[0].clientWidth, h = vps[0].clientHeight;
    view.s = Math.min(32, Math.max(1, view.s));
    view.x = Math.min(0, Math.max(w - w * view.s, view.x));
    view.y = Math.min(0, Math.max(h - h * view.s, view.y));
    for (const im of imgs.concat(mapImgs)) {
      im.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.s})`;
      im.classList.toggle("pixels", view.s >= 3);
    }
  }
  function zoomAt(factor, px, py) {
    const s2 = Math.min(32, Math.max(1, view.s * factor));
    view.x = px - (px - view.x) * (s2 / view.s);
    view.y = py - (py - view.y) * (s2 / view.s);
    view.s = s2;
    apply();
  }
  function zoomCentre(factor) { zoomAt(factor, vps[0].clientWidth / 2, vps[0].clientHeight / 2); }
  function resetView() { view.s = 1; view.x = 0; view.y = 0; apply(); }

  function showMapsFor(item) {
    asking = item;
    buttons.forEach((b) => { b.disabled = true; });
    mapImgs[0].src = "/map/" + item.left;
    mapImgs[1].src = "/map/" + item.right;
    mapVps.forEach((vp) => { vp.hidden = false; });
    question.hidden = false;
    answers.forEach((b) => { b.disabled = false; });
    apply();
  }
  async function answer(value) {
    if (!asking) return;
    answers.forEach((b) => { b.disabled = true; });
    try {
      const resp = await fetch("/api/map-answer", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ item: asking.item, answer: value }),
      });
      if (!resp.ok) throw new Error(String(resp.status));
    } catch (err) {
      status.textContent = "Not saved \u2013 please try again";
      answers.forEach((b) => { b.disabled = false; });
      return;
    }
    asking = null;
    question.hidden = true;
    mapVps.forEach((vp) => { vp.hidden = true; });
    render();
  }
  answers.forEach((b) => b.addEventListener("click", () => answer(b.dataset.answer)));

  function render() {
    const item = state.items[0];
    if (!item) {
      root.classList.add("finished");
      progress.textContent = `${state.done} / ${state.total}`;
      return;
    }
    progress.textContent = `${state.done + 1} / ${state.total}`;
    resetView();
    buttons.forEach((b) => { b.disabled = true; });
    pending = 2;
    imgs[0].src = "/img/" + item.left;
    imgs[1].src = "/img/" + item.right;
    for (const next of state.items.slice(1)) {  // warm the cache for the next comparison
      new Image().src = "/img/" + next.left;
      new Image().src = "/img/" + next.right;
    }
  }
  for (const im of imgs) {
    im.addEventListener("load", () => {
      pending = Math.max(0, pending - 1);
      if (pending === 0 && !busy) buttons.forEach((b) => { b.disabled = false; });
    });
    im.addEventListener("error", () => { status.textContent = "Image not loaded – please reload the page"; });
  }

  async function vote(choice) {
    const item = state.items[0];
    if (busy || pending > 0 || asking || !item || (choice === "tie" && !allowTie)) return;
    busy = true;
    buttons.forEach((b) => { b.disabled = true; });
    status.textContent = "";
    try {
      const resp = await fetch("/api/vote", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify({ item: item.item, choice: choice }),
      });
      if (!resp.ok) throw new Error(String(resp.status));
      state = await resp.json();
      if (showMaps) showMapsFor(item); else render();
    } catch (err) {
      status.textContent = "Not saved \u2013 please try again";
      if (pending === 0) buttons.forEach((b) => { b.disabled = false; });
    } finally {
      busy = false;
      if (pending === 0 && state.items.length && !asking) buttons.forEach((b) => { b.disabled = false; });
    }
  }

  buttons.forEach((b) => b.addEventListener("click", () => vote(b.dataset.choice)));
  document.addEventListener("keydown", (e) => {
    if (e.repeat || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === "ArrowLeft") { e.preventDefault(); vote("left"); }
    else if (e.key === "ArrowRight") { e.preventDefault(); vote("right"); }
    else if (e.key === "ArrowDown" && allowTie) { e.preventDefault(); vote("tie"); }
    else if (e.key === "+" || e.key === "=") zoomCentre(1.25);
    else if (e.key === "-") zoomCentre(0.8);
    else if (e.key === "0") resetView();
  });
  document.getElementById("zoom-in").addEventListener("click", () => zoomCentre(1.25));
  document.getElementById("zoom-out").addEventListener("click", () => zoomCentre(0.8));
  document.getElementById("zoom-reset").addEventListener("click", resetView);

  let drag = null;
  for (const vp of vps.concat(mapVps)) {
    vp.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = vp.getBoundingClientRect();
      zoomAt(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    vp.addEventListener("pointerdown", (e) => {
      drag = { x: e.clientX, y: e.clientY, vx: view.x, vy: view.y, vp: vp };
      vp.setPointerCapture(e.pointerId);
      vp.classList.add("dragging");
    });
    vp.addEventListener("pointermove", (e) => {
      if (!drag || drag.vp !== vp) return;
      view.x = drag.vx + (e.clientX - drag.x);
      view.y = drag.vy + (e.clientY - drag.y);
      apply();
    });
    const end = () => { drag = null; vp.classList.remove("dragging"); };
    vp.addEventListener("pointerup", end);
    vp.addEventListener("pointercancel", end);
    vp.addEventListener("dblclick", resetView);
  }
  window.addEventListener("resize", apply);
  render();
})();
