"""What every command line of the package shares (the `skinsr-tf` CLI, examples/, benchmarks/).

- Quiet by default: TensorFlow's C++ log lines (oneDNN notices, CPU-feature lines), its Python
  logger's warnings and library deprecation warnings are hidden unless `--verbose` is given.
  `TF_CPP_MIN_LOG_LEVEL` only acts if set before TensorFlow is imported, so importing this module
  applies `quiet()` to `sys.argv` at once: scripts import it before anything that loads TensorFlow.
  The oneDNN notice that TensorFlow's import prints before its logging is configured ignores that
  variable: TensorFlow's first import runs with the process's stderr captured, and every other
  line is passed on.
- One flag spelling: underscores (`--output_dir`); `absl_argv` also accepts dashes (`--output-dir`).
"""

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
import warnings

VERBOSE_FLAG = "--verbose"


def quiet(argv=None):
    """Hide TensorFlow's logs and irrelevant warnings unless `--verbose` is in `argv` (sys.argv).

    An explicit `TF_CPP_MIN_LOG_LEVEL` in the environment is respected. Returns whether it quietened.
    """
    argv = sys.argv if argv is None else argv
    if VERBOSE_FLAG in argv:
        return False
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport())
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    for module in ("tensorflow", "keras", "tf_keras", "absl"):
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
    return True


_IMPORT_NOISE = re.compile(r"(WARNING: All log messages before absl::InitializeLog|[IW]\d{4} )")


@contextlib.contextmanager
def _stderr_without_import_noise():
    """Capture file descriptor 2 (C++ writes there directly); pass on all but the log lines."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not _IMPORT_NOISE.match(line):
                    sys.stderr.write(line)


class _QuietImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Runs TensorFlow's first import inside `_stderr_without_import_noise`, then steps aside."""

    searching = False

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or self.searching:
            return None
        self.searching = True
        try:
            spec = importlib.util.find_spec(name)  # the real one (find_spec alone imports nothing)
        finally:
            self.searching = False
        if spec is not None and spec.loader is not None:
            self.loader = spec.loader
            spec.loader = self
        return spec

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        module.__loader__ = module.__spec__.loader = self.loader
        with _stderr_without_import_noise():
            self.loader.exec_module(module)


def absl_argv(argv=None):
    """`argv` with dashed flag names spelled with underscores (`--output-dir=x` -> `--output_dir=x`)."""
    out = []
    for arg in sys.argv if argv is None else argv:
        if arg.startswith("--") and len(arg) > 2:
            name, eq, value = arg[2:].partition("=")
            arg = "--" + name.replace("-", "_") + eq + value
        out.append(arg)
    return out


def run(main):
    """`absl.app.run(main)` with a `--verbose` flag and dashed flag names accepted."""
    from absl import app, flags

    if "verbose" not in flags.FLAGS:
        flags.DEFINE_bool("verbose", False, "Show TensorFlow's log lines and library warnings.")
    app.run(main, argv=absl_argv())


quiet()
