"""Test-wide settings.

Importing ``cli`` first points numba's cache at a directory keyed by ``domain/``'s sources
(see ``cli/numba_cache.py``).

Under CI (``CI=true``) hypothesis runs derandomized, so a CI run is repeatable; locally it
explores new examples every run (and replays failures from ``.hypothesis/``).
"""

from __future__ import annotations

import os

from hypothesis import settings

import cli  # noqa: F401  (keys numba's cache by the engine's sources, before numba loads)

pytest_plugins = ["tests.dbfixtures", "tests.redisfixtures"]

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
