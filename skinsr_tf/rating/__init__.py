"""Blind pairwise reader study (the report's evaluation): create, invite, serve, score.

Modules: ``design`` (which image goes to which method pair), ``images`` (input checks and blind
re-encoding), ``store`` (the SQLite study file), ``app`` (the web tool, Flask + waitress),
``results`` (scores, win matrix, rater-group agreement, CSV and chart), ``cli`` (``skinsr-tf rate``).
Nothing heavy is imported here, so ``skinsr-tf --help`` stays instant.
"""

GROUPS = ("dermatologist", "non-dermatologist")
