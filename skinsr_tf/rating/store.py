"""The study file: one SQLite database (WAL) holding design, raters, assignments and votes.

Tokens (rater links, admin link) are 256-bit random strings; only their SHA-256 is stored. The key
that signs browser sessions lives in a separate file beside the database (``study.secret``), never
in it, so a copy of the database does not grant access: it holds nothing that logs in or signs a
cookie. Both files (and SQLite's -wal/-shm files, which inherit the database's mode) are mode 0600.
Image and item IDs exposed to browsers are separate random strings per rater and comparison:
nothing in a URL says which method or file it is.
"""

import datetime as _dt
import hashlib
import os
import random
import secrets
import sqlite3
from pathlib import Path

from skinsr_tf.data.io import atomic_write
from skinsr_tf.rating import GROUPS
from skinsr_tf.rating.design import balanced_sides, make_design
from skinsr_tf.rating.images import StudyInputError, scan_study_inputs

DB_NAME = "study.sqlite"
SECRET_NAME = "study.secret"
CACHE_DIR = "cache"
SCHEMA_VERSION = "1"

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE methods (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, folder TEXT NOT NULL);
CREATE TABLE images (id INTEGER PRIMARY KEY, stem TEXT NOT NULL UNIQUE, hr_path TEXT);
CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id),
    method_id INTEGER NOT NULL REFERENCES methods(id),
    path TEXT NOT NULL,
    cache_key TEXT NOT NULL UNIQUE,
    UNIQUE (image_id, method_id));
CREATE TABLE comparisons (
    id INTEGER PRIMARY KEY,
    image_id INTEGER NOT NULL REFERENCES images(id),
    method_a INTEGER NOT NULL REFERENCES methods(id),
    method_b INTEGER NOT NULL REFERENCES methods(id),
    UNIQUE (image_id, method_a, method_b),
    CHECK (method_a < method_b));
CREATE TABLE raters (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    grp TEXT NOT NULL CHECK (grp IN ('dermatologist', 'non-dermatologist')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL);
CREATE TABLE assignments (
    id INTEGER PRIMARY KEY,
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    comparison_id INTEGER NOT NULL REFERENCES comparisons(id),
    position INTEGER NOT NULL,
    swapped INTEGER NOT NULL CHECK (swapped IN (0, 1)),
    item_token TEXT NOT NULL UNIQUE,
    left_token TEXT NOT NULL UNIQUE,
    right_token TEXT NOT NULL UNIQUE,
    UNIQUE (rater_id, comparison_id),
    UNIQUE (rater_id, position));
CREATE TABLE votes (
    id INTEGER PRIMARY KEY,
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    comparison_id INTEGER NOT NULL REFERENCES comparisons(id),
    choice TEXT NOT NULL CHECK (choice IN ('left', 'right', 'tie')),
    left_method INTEGER NOT NULL REFERENCES methods(id),
    right_method INTEGER NOT NULL REFERENCES methods(id),
    winner_method INTEGER REFERENCES methods(id),
    created_at TEXT NOT NULL,
    UNIQUE (rater_id, comparison_id));
CREATE TABLE map_answers (
    id INTEGER PRIMARY KEY,
    rater_id INTEGER NOT NULL REFERENCES raters(id),
    comparison_id INTEGER NOT NULL REFERENCES comparisons(id),
    answer TEXT NOT NULL CHECK (answer IN ('yes', 'partly', 'no')),
    created_at TEXT NOT NULL,
    UNIQUE (rater_id, comparison_id));
"""

# Detail maps: `skinsr-tf upscale --maps` writes NAME_<map>.png beside each output. A study never
# takes them for images; with show_maps it shows NAME_invented.png after each vote.
MAP_NAMES = ("invented", "contradiction", "uncertainty")
SHOWN_MAP = "invented"
MAP_ANSWERS = ("yes", "partly", "no")


class StudyError(RuntimeError):
    """A study operation that cannot proceed (no study, duplicate rater, ...)."""


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token():
    return secrets.token_urlsafe(32)


def _now():
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def db_path(study_dir):
    return Path(study_dir) / DB_NAME


def connect(study_dir, must_exist=True):
    """Open the study database: WAL, busy timeout, foreign keys, autocommit (explicit BEGIN)."""
    path = db_path(study_dir)
    if must_exist and not path.is_file():
        raise StudyError(f"{path}: no study here (create one with `skinsr-tf rate create`)")
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def get_meta(conn):
    return {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM meta")}


def session_secret(study_dir):
    """The key that signs this study's browser sessions, read from ``study.secret`` (mode 0600).

    Made on first use; a study made before the key moved out of the database gets a new one and
    the old key is deleted from the database (its sessions end; links still work).
    """
    path = Path(study_dir) / SECRET_NAME
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if len(key) < 32:
        key = secrets.token_hex(32)
        with atomic_write(path, "w", private=True) as f:
            f.write(key + "\n")
    conn = connect(study_dir)
    try:
        conn.execute("DELETE FROM meta WHERE key = 'secret_key'")
    finally:
        conn.close()
    return key


def admin_epoch(conn):
    """A random value that changes whenever the admin link is rotated; admin sessions carry it."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'admin_epoch'").fetchone()
    return row[0] if row else ""


def create_study(study_dir, methods, hr=None, design="groups", seed=0, allow_tie=False, show_maps=False):
    """Check the inputs, then write a new study; returns the admin token (shown once).

    ``methods``: mapping method name -> folder of SR outputs (same file stems in every folder).
    Detail maps beside the outputs (``NAME_invented.png``, ... from ``skinsr-tf upscale --maps``)
    are not study images. ``show_maps``: after each vote, show each image's invented-detail map
    and ask a second, non-blind question, "do the maps mark what you distrust?" (every output
    needs its ``NAME_invented.png``).
    All checks run before anything is written; the database is built under a temporary name and
    renamed into place, so a failure leaves no half-created study behind.
    """
    study_dir = Path(study_dir)
    target = db_path(study_dir)
    if target.exists():
        raise StudyError(f"{target}: a study already exists here")
    for name in methods:
        if not name or "=" in name or name != name.strip():
            raise StudyInputError(f"bad method name {name!r}")
    table, hr_paths = scan_study_inputs(methods, hr)
    table = {stem: paths for stem, paths in table.items() if not _is_map_stem(stem, table)}
    if show_maps:
        missing = [str(_map_path(path, stem)) for stem, paths in table.items() for path in paths.values()
                   if not _map_path(path, stem).is_file()]
        if missing:
            raise StudyInputError("show_maps: no invented-detail map for these outputs (write them with "
                                  "`skinsr-tf upscale --maps`):\n  " + "\n  ".join(missing))
    comparisons = make_design(list(table), list(methods), design=design, seed=seed)

    made_dir = not study_dir.exists()
    study_dir.mkdir(parents=True, exist_ok=True)
    tmp = study_dir / f".{DB_NAME}.{secrets.token_hex(6)}.tmp"
    admin_token = new_token()
    try:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # SQLite keeps this mode
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.executescript(SCHEMA)
            conn.execute("BEGIN")
            meta = {
                "schema_version": SCHEMA_VERSION, "design": design, "seed": str(seed),
                "allow_tie": "1" if allow_tie else "0", "show_hr": "0",
                "show_maps": "1" if show_maps else "0",
                "admin_token_hash": hash_token(admin_token), "admin_epoch": secrets.token_hex(16),
                "created_at": _now(),
            }
            conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            method_ids = {}
            for name in sorted(methods):
                cur = conn.execute("INSERT INTO methods (name, folder) VALUES (?, ?)",
                                   (name, str(Path(methods[name]).resolve())))
                method_ids[name] = cur.lastrowid
            image_ids = {}
            for stem in table:
                hr_path = str(Path(hr_paths[stem]).resolve()) if stem in hr_paths else None
                cur = conn.execute("INSERT INTO images (stem, hr_path) VALUES (?, ?)", (stem, hr_path))
                image_ids[stem] = cur.lastrowid
                for name, path in table[stem].items():
                    conn.execute("INSERT INTO assets (image_id, method_id, path, cache_key) VALUES (?, ?, ?, ?)",
                                 (image_ids[stem], method_ids[name], str(Path(path).resolve()), secrets.token_hex(16)))
            for stem, a, b in comparisons:
                ia, ib = sorted((method_ids[a], method_ids[b]))
                conn.execute("INSERT INTO comparisons (image_id, method_a, method_b) VALUES (?, ?, ?)",
                             (image_ids[stem], ia, ib))
            conn.execute("COMMIT")
        finally:
            conn.close()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if made_dir and not any(study_dir.iterdir()):
            study_dir.rmdir()
        raise
    session_secret(study_dir)  # also switches the new file to WAL
    return admin_token


def _is_map_stem(stem, stems):
    """NAME_invented (etc.) beside NAME: a detail map, not an image of the study."""
    return any(stem.endswith(f"_{m}") and stem[: -len(m) - 1] in stems for m in MAP_NAMES)


def _map_path(path, stem):
    return Path(path).with_name(f"{stem}_{SHOWN_MAP}.png")


def add_rater(study_dir, name, group, rng=None):
    """Register a rater with every comparison in a private random order and left/right layout.

    Returns the rater's token (shown once; only its hash is kept).
    """
    if group not in GROUPS:
        raise StudyError(f"unknown rater group {group!r}; choose one of {GROUPS}")
    if not name or not name.strip():
        raise StudyError("rater name must not be empty")
    rng = rng or random.SystemRandom()
    token = new_token()
    conn = connect(study_dir)
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM raters WHERE name = ?", (name,)).fetchone():
                raise StudyError(f"rater {name!r} already exists in {study_dir}")
            cur = conn.execute("INSERT INTO raters (name, grp, token_hash, created_at) VALUES (?, ?, ?, ?)",
                               (name, group, hash_token(token), _now()))
            rater_id = cur.lastrowid
            rows = [tuple(r) for r in conn.execute("SELECT id, method_a, method_b FROM comparisons ORDER BY id")]
            ids = [r[0] for r in rows]
            rng.shuffle(ids)
            swapped = balanced_sides(rows, rng)
            conn.executemany(
                "INSERT INTO assignments (rater_id, comparison_id, position, swapped, item_token, left_token,"
                " right_token) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(rater_id, cid, pos, swapped[cid], secrets.token_urlsafe(12),
                  secrets.token_urlsafe(16), secrets.token_urlsafe(16)) for pos, cid in enumerate(ids)])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    return token


def rotate_admin_token(study_dir):
    """Issue a new admin token and return it: the old link and every admin session stop working."""
    token = new_token()
    conn = connect(study_dir)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE meta SET value = ? WHERE key = 'admin_token_hash'", (hash_token(token),))
        conn.execute("INSERT INTO meta VALUES ('admin_epoch', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                     (secrets.token_hex(16),))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return token


def rater_for_token(conn, token):
    if not token or len(token) > 200:
        return None
    return conn.execute("SELECT id, name, grp FROM raters WHERE token_hash = ?", (hash_token(token),)).fetchone()


def is_admin_token(conn, token):
    if not token or len(token) > 200:
        return False
    stored = conn.execute("SELECT value FROM meta WHERE key = 'admin_token_hash'").fetchone()
    return stored is not None and secrets.compare_digest(stored[0], hash_token(token))


def rater_state(conn, rater_id, lookahead=2):
    """Progress of one rater and the next unvoted items (opaque tokens only)."""
    total = conn.execute("SELECT COUNT(*) FROM assignments WHERE rater_id = ?", (rater_id,)).fetchone()[0]
    done = conn.execute("SELECT COUNT(*) FROM votes WHERE rater_id = ?", (rater_id,)).fetchone()[0]
    rows = conn.execute(
        "SELECT a.item_token, a.left_token, a.right_token FROM assignments a"
        " LEFT JOIN votes v ON v.rater_id = a.rater_id AND v.comparison_id = a.comparison_id"
        " WHERE a.rater_id = ? AND v.id IS NULL ORDER BY a.position LIMIT ?", (rater_id, lookahead)).fetchall()
    items = [{"item": r["item_token"], "left": r["left_token"], "right": r["right_token"]} for r in rows]
    return {"done": done, "total": total, "items": items}


def record_vote(conn, rater_id, item_token, choice, allow_tie):
    """Store one vote in one transaction; a repeat of the same item is a no-op.

    Returns "stored", "duplicate", or None when the item is not this rater's.
    """
    if choice not in ("left", "right", "tie") or (choice == "tie" and not allow_tie):
        raise ValueError(f"invalid choice {choice!r}")
    row = conn.execute(
        "SELECT a.comparison_id, a.swapped, c.method_a, c.method_b FROM assignments a"
        " JOIN comparisons c ON c.id = a.comparison_id WHERE a.rater_id = ? AND a.item_token = ?",
        (rater_id, item_token)).fetchone()
    if row is None:
        return None
    left, right = (row["method_b"], row["method_a"]) if row["swapped"] else (row["method_a"], row["method_b"])
    winner = {"left": left, "right": right, "tie": None}[choice]
    conn.execute("BEGIN IMMEDIATE")
    try:
        cur = conn.execute(
            "INSERT INTO votes (rater_id, comparison_id, choice, left_method, right_method, winner_method, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rater_id, comparison_id) DO NOTHING",
            (rater_id, row["comparison_id"], choice, left, right, winner, _now()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return "stored" if cur.rowcount == 1 else "duplicate"


def image_for_token(conn, rater_id, image_token):
    """(path, cache_key) of an image shown in one of this rater's comparisons, else None."""
    row = conn.execute(
        "SELECT a.swapped, a.left_token, c.image_id, c.method_a, c.method_b FROM assignments a"
        " JOIN comparisons c ON c.id = a.comparison_id"
        " WHERE a.rater_id = ? AND (a.left_token = ? OR a.right_token = ?)",
        (rater_id, image_token, image_token)).fetchone()
    if row is None:
        return None
    is_left = row["left_token"] == image_token
    first = bool(is_left) != bool(row["swapped"])  # left and not swapped, or right and swapped
    method = row["method_a"] if first else row["method_b"]
    asset = conn.execute("SELECT path, cache_key FROM assets WHERE image_id = ? AND method_id = ?",
                         (row["image_id"], method)).fetchone()
    return asset["path"], asset["cache_key"]


def _voted_comparison(conn, rater_id, item_token=None, image_token=None):
    """This rater's comparison id for an item or image token, if they have voted on it, else None."""
    row = conn.execute(
        "SELECT a.comparison_id FROM assignments a JOIN votes v"
        " ON v.rater_id = a.rater_id AND v.comparison_id = a.comparison_id"
        " WHERE a.rater_id = ? AND (a.item_token = ? OR a.left_token = ? OR a.right_token = ?)",
        (rater_id, item_token, image_token, image_token)).fetchone()
    return None if row is None else row[0]


def map_for_token(conn, rater_id, image_token):
    """(path, cache_key) of the invented-detail map of an image this rater has already voted on
    (maps come after the blind choice, never before it), else None."""
    if _voted_comparison(conn, rater_id, image_token=image_token) is None:
        return None
    found = image_for_token(conn, rater_id, image_token)
    if found is None:
        return None
    path, key = found
    return str(_map_path(path, Path(path).stem)), f"{key}-{SHOWN_MAP}"


def record_map_answer(conn, rater_id, item_token, answer):
    """Store the answer to "do the maps mark what you distrust?" for a voted item; a repeat is a
    no-op. Returns "stored", "duplicate", or None when the item is not this rater's or not voted."""
    if answer not in MAP_ANSWERS:
        raise ValueError(f"invalid answer {answer!r}")
    comparison = _voted_comparison(conn, rater_id, item_token=item_token)
    if comparison is None:
        return None
    cur = conn.execute(
        "INSERT INTO map_answers (rater_id, comparison_id, answer, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (rater_id, comparison_id) DO NOTHING", (rater_id, comparison, answer, _now()))
    return "stored" if cur.rowcount == 1 else "duplicate"


def map_answer_counts(conn):
    """{rater group: {answer: count}} of the map question (empty for studies without it)."""
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'map_answers'").fetchone():
        return {}
    counts = {}
    for row in conn.execute("SELECT r.grp, m.answer, COUNT(*) FROM map_answers m JOIN raters r"
                            " ON r.id = m.rater_id GROUP BY r.grp, m.answer"):
        counts.setdefault(row[0], {a: 0 for a in MAP_ANSWERS})[row[1]] = row[2]
    return counts
