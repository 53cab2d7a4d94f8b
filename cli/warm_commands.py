"""``backtest warm``: build numba's on-disk cache of every kernel ahead of time.

``make install`` runs it, so that neither the first backtest after ``make run`` nor the first
chart with a new indicator waits 15-30 s for numba to compile: they load the kernels from the
cache (``cli.numba_cache`` keys its directory by the engine's sources, so a changed engine is
compiled again, once, here). It compiles the engine (a tiny backtest and sweep:
``tasks.execution.compute.warm_up``) and every indicator of the catalog
(``tasks.execution.indicators.warm_indicators``); with everything cached it takes a second or
two.
"""

from __future__ import annotations

import argparse
import os
import time


def cmd_warm(args: argparse.Namespace) -> int:
    from tasks.execution.compute import warm_up
    from tasks.execution.indicators import warm_indicators

    started = time.perf_counter()
    warm_up()
    names = warm_indicators()
    if not getattr(args, "quiet", False):
        print(f"numba cache ready in {os.environ.get('NUMBA_CACHE_DIR', '?')}: the engine and "
              f"{len(names)} indicators ({', '.join(names)}) in "
              f"{time.perf_counter() - started:.1f} s")
    return 0
