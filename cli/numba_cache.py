"""Numba's on-disk cache, keyed by the engine's sources.

Numba invalidates a cached kernel when the file that defines it changes, but not when a kernel
it calls from another module changes (``nb.py`` calls ``metrics_nb`` from ``metrics.py``, and so
on): a stale, wrong kernel could run. So the cache lives in a directory named after a hash of
every ``domain/`` source file: any change to the engine starts a fresh cache.

``configure()`` must run before numba is imported; ``cli/__init__.py``, ``tests/conftest.py``
and the benchmarks call it. The base directory is ``NUMBA_CACHE_DIR`` when set (the Makefile
sets ``.cache/numba``), else ``$XDG_CACHE_HOME/backtest/numba`` (``~/.cache/...``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

_MARK = "BACKTEST_NUMBA_CACHE_KEYED"  # set once configured, so child processes keep the same dir


def sources_hash() -> str:
    spec = importlib.util.find_spec("domain")
    if spec is None or not spec.submodule_search_locations:
        return "unknown"
    root = Path(next(iter(spec.submodule_search_locations)))
    digest = hashlib.sha1(usedforsecurity=False)
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def configure() -> None:
    """Point ``NUMBA_CACHE_DIR`` at ``<base>/<hash of domain/>`` (once per process tree)."""
    if os.environ.get(_MARK):
        return
    base = os.environ.get("NUMBA_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "backtest" / "numba")
    os.environ["NUMBA_CACHE_DIR"] = str(Path(base) / sources_hash())
    os.environ[_MARK] = "1"
