"""tasks.execution.compute: the candles of a large task travel to a pool worker through a file
in shared memory, mapped copy-on-write there and removed at once; small ones are pickled."""

from __future__ import annotations

import glob
import os
import pickle

import numpy as np
import pytest

from domain.demo import demo_candles
from tasks.execution import compute
from tasks.execution.compute import SHIP_MIN_BARS, BacktestTask, SweepChunkTask, SweepTask

COLUMNS = ("ts", "open", "high", "low", "close", "volume")


def shipped_files() -> list[str]:
    return glob.glob(os.path.join(compute.SHM_DIR, "backtest-candles-*"))


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no shared memory folder")
def test_large_tasks_ship_their_candles_through_shared_memory() -> None:
    c = demo_candles(SHIP_MIN_BARS + 10, "1m")
    before = shipped_files()
    tasks = [BacktestTask({"name": "t"}, {"fast": 3.0}, c, 0.02),
             SweepTask({"name": "t"}, {"fast": [1.0, 2.0]}, c, "sharpe"),
             SweepChunkTask({"name": "t"}, {"fast": [1.0]}, c, "sharpe", 0, 1)]
    for task in tasks:
        data = pickle.dumps(task)
        assert len(data) < 2_000  # a file name, not 2.4 MB of arrays
        assert len(shipped_files()) == len(before) + 1
        back = pickle.loads(data)
        assert shipped_files() == before  # the worker removed it
        assert type(back) is type(task)
        for name in ("document", "risk_free_rate"):
            assert getattr(back, name) == getattr(task, name)
        got = back.candles
        assert (got.symbol, got.timeframe) == (c.symbol, c.timeframe)
        for name in COLUMNS:
            a, b = getattr(got, name), getattr(c, name)
            assert a.dtype == b.dtype and a.flags.writeable and a.flags.c_contiguous
            assert a.flags.aligned
            np.testing.assert_array_equal(a, b)
        got.close[0] = -1.0  # copy-on-write: the sender's arrays never change
        assert c.close[0] != -1.0


def test_small_tasks_are_pickled_as_they_are() -> None:
    c = demo_candles(100, "1h")
    before = shipped_files()
    back = pickle.loads(pickle.dumps(BacktestTask({}, {}, c)))
    assert shipped_files() == before
    np.testing.assert_array_equal(back.candles.close, c.close)


@pytest.mark.skipif(not os.path.isdir("/dev/shm"), reason="no shared memory folder")
def test_shared_candles_ship_their_file_name_and_keep_it_while_they_live() -> None:
    import gc

    from tasks.execution.shipping import share, shared_path

    c = demo_candles(SHIP_MIN_BARS + 10, "1m")
    kept = share(c)
    path = shared_path(kept)
    assert path is not None and os.path.exists(path) and shared_path(c) is None
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(kept, name), getattr(c, name))
    before = shipped_files()
    for _ in range(2):  # every task on them: the same file, written once, left in place
        back = pickle.loads(pickle.dumps(BacktestTask({"name": "t"}, {}, kept)))
        assert shipped_files() == before and os.path.exists(path)
        got = back.candles
        np.testing.assert_array_equal(got.close, c.close)
        assert got.close.flags.writeable
        got.close[0] = -1.0  # copy-on-write: the sender's arrays never change
        assert kept.close[0] == c.close[0]
    del kept, back, got
    gc.collect()
    assert not os.path.exists(path)  # gone with the candles
    small = demo_candles(100, "1h")
    assert share(small) is small  # small ones are pickled as they are
