"""The web tool: rater pages, blind image serving, votes, and the owner's results page.

Raters open a personal link ``/r/<token>``; it starts a signed session (cookie, SameSite=Lax) and
redirects to ``/rate``. Everything the browser sees is opaque: images are ``/img/<random id>``
issued per rater and comparison, re-encoded PNG without metadata. Votes are JSON POSTs that carry
the session's CSRF token; the Origin / Sec-Fetch-Site headers are checked when the browser sends them.
Sessions are signed with the key in ``study.secret``, not with anything in the database; an admin
session carries the study's admin epoch and ends when ``admin-link`` rotates it.
"""

import datetime as _dt
import io
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, abort, g, jsonify, redirect, render_template, request, session

from skinsr_tf.rating import store
from skinsr_tf.rating.images import cached_blind_png
from skinsr_tf.rating.results import format_results, load_votes, plot_scores, study_results, write_votes_csv

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,100}$")
_CSP = ("default-src 'none'; img-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def create_app(study_dir):
    """Flask app serving the study in ``study_dir`` (the folder holding study.sqlite)."""
    study_dir = Path(study_dir).resolve()
    conn = store.connect(study_dir)
    try:
        meta = store.get_meta(conn)
    finally:
        conn.close()
    here = Path(__file__).parent
    app = Flask("skinsr_tf.rating", template_folder=str(here / "templates"), static_folder=None)
    # The two static files, served from memory: a fixed allow-list, no ETag, no file names in headers.
    statics = {name: ((here / "static" / name).read_bytes(), mime) for name, mime in
               (("rate.js", "text/javascript; charset=utf-8"), ("rate.css", "text/css; charset=utf-8"))}
    app.config.update(
        SECRET_KEY=store.session_secret(study_dir), SESSION_COOKIE_NAME="skinsr_rating", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", PERMANENT_SESSION_LIFETIME=_dt.timedelta(days=60),
        MAX_CONTENT_LENGTH=16 * 1024,
    )
    allow_tie = meta.get("allow_tie") == "1"
    show_maps = meta.get("show_maps") == "1"
    cache_dir = study_dir / store.CACHE_DIR

    def db():
        if "db" not in g:
            g.db = store.connect(study_dir)
        return g.db

    @app.teardown_appcontext
    def _close(_exc):
        conn = g.pop("db", None)
        if conn is not None:
            conn.close()

    @app.after_request
    def _headers(resp):
        resp.headers["Content-Security-Policy"] = _CSP
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if request.endpoint != "results_csv":
            resp.headers.pop("Content-Disposition", None)
            resp.headers.pop("ETag", None)
        if "Cache-Control" not in resp.headers:
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(403)
    @app.errorhandler(404)
    @app.errorhandler(400)
    @app.errorhandler(405)
    @app.errorhandler(413)
    def _error(exc):
        if request.path.startswith("/api/"):
            return jsonify(error=exc.description if exc.code == 400 else exc.name), exc.code
        return render_template("message.html", title=exc.name, text=_MESSAGES.get(exc.code, exc.name)), exc.code

    def current_rater():
        rid = session.get("rid")
        if rid is None:
            abort(403)
        row = db().execute("SELECT id, grp FROM raters WHERE id = ?", (rid,)).fetchone()
        if row is None:
            abort(403)
        return row["id"]

    def check_csrf():
        sent = request.headers.get("X-CSRF-Token", "")
        expected = session.get("csrf", "")
        if not sent or not expected or not secrets.compare_digest(sent, expected):
            abort(403)
        origin = request.headers.get("Origin")
        # Host only: behind a TLS proxy the browser's scheme (https) differs from ours (http).
        if origin is not None and urlsplit(origin).netloc != request.host:
            abort(403)
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None and site not in ("same-origin", "none"):
            abort(403)

    @app.get("/static/<name>")
    def static_file(name):
        if name not in statics:
            abort(404)
        data, mime = statics[name]
        resp = Response(data, content_type=mime)
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    @app.get("/")
    def index():
        return render_template("message.html", title="Image comparison",
                               text="Please open the personal link you were given."), 200

    @app.get("/r/<token>")
    def rater_login(token):
        row = store.rater_for_token(db(), token) if _TOKEN_RE.match(token) else None
        if row is None:
            abort(403)
        admin = session.get("admin")
        session.clear()
        session.permanent = True
        session["rid"] = row["id"]
        session["csrf"] = secrets.token_urlsafe(32)
        if admin:
            session["admin"] = admin
        return redirect("/rate", code=303)

    @app.get("/rate")
    def rate_page():
        rid = current_rater()
        state = store.rater_state(db(), rid)
        return render_template("rate.html", state=state, csrf=session["csrf"], allow_tie=allow_tie,
                               show_maps=show_maps)

    @app.get("/api/state")
    def api_state():
        return jsonify(store.rater_state(db(), current_rater()))

    @app.post("/api/vote")
    def api_vote():
        rid = current_rater()
        check_csrf()
        try:
            data = request.get_json(silent=True)
        except RecursionError:  # deeply nested JSON
            data = None
        if not isinstance(data, dict):
            abort(400, "expected a JSON object")
        item, choice = data.get("item"), data.get("choice")
        if not isinstance(item, str) or not _TOKEN_RE.match(item):
            abort(404)
        if choice not in ("left", "right") and not (allow_tie and choice == "tie"):
            abort(400, "invalid choice")
        outcome = store.record_vote(db(), rid, item, choice, allow_tie)
        if outcome is None:
            abort(404)
        return jsonify(status=outcome, **store.rater_state(db(), rid))

    def blind_png(found):
        """The (path, key) a token resolved to, re-encoded blind; 404 when it resolved to nothing."""
        if found is None:
            abort(404)
        path, key = found
        try:
            return Response(cached_blind_png(path, cache_dir, key), mimetype="image/png")
        except OSError:
            abort(404)

    @app.get("/img/<token>")
    def image(token):
        rid = current_rater()
        if not _TOKEN_RE.match(token):
            abort(404)
        resp = blind_png(store.image_for_token(db(), rid, token))
        resp.headers["Cache-Control"] = "private, max-age=86400, immutable"
        return resp

    @app.get("/map/<token>")
    def detail_map(token):
        """The invented-detail map of an image the rater has voted on (studies with show_maps)."""
        rid = current_rater()
        return blind_png(store.map_for_token(db(), rid, token) if show_maps and _TOKEN_RE.match(token) else None)

    @app.post("/api/map-answer")
    def api_map_answer():
        rid = current_rater()
        if not show_maps:
            abort(404)
        check_csrf()
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            abort(400, "expected a JSON object")
        item, answer = data.get("item"), data.get("answer")
        if not isinstance(item, str) or not _TOKEN_RE.match(item):
            abort(404)
        if answer not in store.MAP_ANSWERS:
            abort(400, "invalid answer")
        outcome = store.record_map_answer(db(), rid, item, answer)
        if outcome is None:
            abort(404)
        return jsonify(status=outcome)

    @app.get("/admin/<token>")
    def admin_login(token):
        if not (_TOKEN_RE.match(token) and store.is_admin_token(db(), token)):
            abort(403)
        session.permanent = True
        session["admin"] = store.admin_epoch(db())
        session.setdefault("csrf", secrets.token_urlsafe(32))
        return redirect("/results", code=303)

    def require_admin():
        held, current = session.get("admin"), store.admin_epoch(db())
        if not (isinstance(held, str) and current and secrets.compare_digest(held, current)):
            abort(403)

    @app.get("/results")
    def results_page():
        require_admin()
        res = study_results(db())
        return render_template("results.html", res=res, text=format_results(res), meta=meta)

    @app.get("/results/votes.csv")
    def results_csv():
        require_admin()
        buf = io.StringIO()
        write_votes_csv(load_votes(db()), buf)
        resp = Response(buf.getvalue(), mimetype="text/csv")
        resp.headers["Content-Disposition"] = "attachment; filename=votes.csv"
        return resp

    @app.get("/results/chart.png")
    def results_chart():
        require_admin()
        buf = io.BytesIO()
        plot_scores(study_results(db()), buf)
        return Response(buf.getvalue(), mimetype="image/png")

    return app


_MESSAGES = {
    400: "The request was not understood.",
    403: "This page needs a valid personal link.",
    404: "Not found.",
    405: "Not allowed.",
    413: "Request too large.",
}


def serve(study_dir, host="127.0.0.1", port=8000, threads=8, announce=None):
    """Serve the study with waitress (multi-threaded production WSGI server).

    The study is opened and the port bound before ``announce(url)`` is called, so a missing study
    (:class:`~skinsr_tf.rating.store.StudyError`) or a port in use (:class:`OSError`) is raised
    before anything says "serving".
    """
    import waitress

    server = waitress.create_server(create_app(study_dir), host=host, port=port, threads=threads, ident="")
    if announce is not None:
        announce(f"http://{host}:{server.effective_port}")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
