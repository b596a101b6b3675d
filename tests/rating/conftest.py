"""Shared fixtures: tiny studies with distinctive names and a real waitress server on loopback."""

import threading

import numpy as np
import pytest
from PIL import Image

from skinsr_tf.rating import store

# Distinctive names: none of them may ever reach a rater's browser.
METHODS = {"ZEBRAFINCHSR": "folder_QUOKKAOUT", "MARMOSETGAN": "folder_WOMBATOUT", "NARWHALNET": "folder_AXOLOTLOUT"}
STEM = "lesion_PANGOLIN_{:02d}"


def write_pngs(folder, stems, size=24, seed=0, meta_text=None):
    """Tiny random PNGs; ``meta_text`` adds a PNG text chunk (to check it is stripped)."""
    from PIL import PngImagePlugin

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for stem in stems:
        info = None
        if meta_text:
            info = PngImagePlugin.PngInfo()
            info.add_text("Comment", meta_text)
        img = Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
        img.save(folder / f"{stem}.png", pnginfo=info)


def make_study(tmp_path, n_images=6, methods=METHODS, design="groups", seed=0, allow_tie=False, hr=False,
               **create_kwargs):
    """Create a study under tmp_path/study; returns (study_dir, admin_token)."""
    stems = [STEM.format(i) for i in range(n_images)]
    folders = {}
    for k, (name, folder) in enumerate(methods.items()):
        write_pngs(tmp_path / folder, stems, seed=k, meta_text=f"{name} {folder} made this")
        folders[name] = tmp_path / folder
    hr_dir = None
    if hr:
        hr_dir = tmp_path / "folder_HRREFS"
        write_pngs(hr_dir, stems, seed=99)
    study = tmp_path / "study"
    token = store.create_study(study, folders, hr=hr_dir, design=design, seed=seed, allow_tie=allow_tie,
                               **create_kwargs)
    return study, token


class LiveServer:
    """A waitress server in a background thread on a free loopback port."""

    def __init__(self, study_dir, threads=8):
        import waitress

        from skinsr_tf.rating.app import create_app

        self.server = waitress.create_server(create_app(study_dir), host="127.0.0.1", port=0,
                                             threads=threads, ident="")
        self.url = f"http://127.0.0.1:{self.server.effective_port}"
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def close(self):
        self.server.close()
        self.server.task_dispatcher.shutdown(timeout=5)
        self.thread.join(timeout=5)


@pytest.fixture
def live_server():
    servers = []

    def start(study_dir, threads=8):
        srv = LiveServer(study_dir, threads=threads)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.close()
