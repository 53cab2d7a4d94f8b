"""numba's cache directory is keyed by the engine's sources (see cli/numba_cache.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cli.numba_cache import sources_hash


def test_the_cache_dir_ends_in_the_sources_hash() -> None:
    key = sources_hash()
    assert len(key) == 16 and key == sources_hash()
    assert os.environ["NUMBA_CACHE_DIR"].endswith(key)


def test_a_new_process_keys_its_base_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BACKTEST_NUMBA_CACHE_KEYED"}
    env["NUMBA_CACHE_DIR"] = str(tmp_path)
    code = "import cli, os, numba; print(os.environ['NUMBA_CACHE_DIR'], numba.config.CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out[0] == out[1] == str(tmp_path / sources_hash())
