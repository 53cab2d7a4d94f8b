"""Generators and comparison helpers of the replay tests."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from domain.candles import Candles
from domain.replay import Replay, ReplayModel
from domain.timeframes import period_index, period_start
from domain.transactions.model import Transaction
from tests.domain.replay.reference import RefResult, replay_reference

SYMBOL = "BTC/USDT"
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large]
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=_HEALTH)
LIGHT = settings(max_examples=60, deadline=None, suppress_health_check=_HEALTH)


def make_candles(rows: Sequence[tuple[float, ...]], timeframe: str = "1m",
                 start: int = 1_700_000_000_000, bars: list[int] | None = None) -> Candles:
    """Candles from ``(open, high, low, close)`` rows; ``bars`` numbers them (gaps where
    numbers are skipped), consecutive by default."""
    first = int(period_index(np.array([start]), timeframe)[0])
    idx = np.array(bars if bars is not None else range(len(rows)), dtype=np.int64) + first
    ts = period_start(idx, timeframe)
    a = np.array(rows, dtype=np.float64).reshape(-1, 4)
    return Candles.from_arrays(ts, a[:, 0], a[:, 1], a[:, 2], a[:, 3], np.ones(len(rows)),
                               SYMBOL, timeframe)


def tx(time_ms: int, side: str, price: float, qty: float, fee: float = 0.0,
       asset: str = "USDT", row: int = 0) -> Transaction:
    return Transaction(time_ms, SYMBOL, side, price, qty, fee, asset, None, row)  # type: ignore[arg-type]


@dataclass
class Scenario:
    candles: Candles
    txs: list[Transaction]
    capital: float
    model: ReplayModel
    conversions: dict[str, list[float]] = field(default_factory=dict)

    def reference(self) -> RefResult:
        c = self.candles
        m = self.model
        return replay_reference(self.txs, c.ts.tolist(), c.open.tolist(), c.high.tolist(),
                                c.low.tolist(), c.close.tolist(), c.timeframe, self.capital,
                                self.conversions, m.fill, m.fee_rate, m.slippage_rate,
                                m.delay_bars)


@st.composite
def bar_rows(draw: st.DrawFn, n: int) -> list[tuple[float, float, float, float]]:
    p = draw(st.floats(1.0, 1000.0))
    rows = []
    for _ in range(n):
        o = p * (1.0 + draw(st.floats(-0.1, 0.1)))
        c = o * (1.0 + draw(st.floats(-0.1, 0.1)))
        rows.append((o, max(o, c) * (1.0 + draw(st.floats(0.0, 0.05))),
                     min(o, c) * (1.0 - draw(st.floats(0.0, 0.05))), c))
        p = c
    return rows


@st.composite
def models(draw: st.DrawFn, max_delay: int = 3) -> ReplayModel:
    return ReplayModel(
        fill=draw(st.sampled_from(["actual", "open", "close", "typical"])),
        fee_rate=draw(st.none() | st.sampled_from([0.0, 0.001]) | st.floats(0.0, 0.01)),
        slippage_rate=draw(st.sampled_from([0.0, 0.0005]) | st.floats(0.0, 0.01)),
        delay_bars=draw(st.integers(0, max_delay)),
    )


@st.composite
def scenarios(draw: st.DrawFn, model: ReplayModel | None = None) -> Scenario:
    """Candles (sometimes with gaps, sometimes monthly) and a stream of fills inside them:
    long and short, partial closes, exact closes and zero crossings (a quantity equal to, or
    above, the running position), fees in USDT, BTC, BNB or none, equal times, any order."""
    tf = draw(st.sampled_from(["1m", "1h", "1d", "1M"]))
    n = draw(st.integers(1, 20))
    numbers = sorted(draw(st.sets(st.integers(0, n + 5), min_size=n, max_size=n))) \
        if draw(st.booleans()) else list(range(n))
    rows = draw(bar_rows(n))
    candles = make_candles(rows, tf, bars=numbers)
    ends = period_start(period_index(candles.ts, tf) + 1, tf)
    bnb = [draw(st.floats(0.5, 500.0)) for _ in range(n)]
    k = draw(st.integers(0, 25))
    bars = sorted(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)))
    txs: list[Transaction] = []
    pos = 0.0
    for i, b in enumerate(bars):
        lo, hi = int(candles.ts[b]), int(ends[b]) - 1
        t = draw(st.sampled_from([lo, hi]) | st.integers(lo, hi))
        same_or_later = draw(st.booleans())
        if txs and same_or_later:
            t = max(t, txs[-1].time_ms)  # keep the drawn order; sometimes equal times
        price = draw(st.floats(0.5, 1.5)) * rows[b][3]
        kind = draw(st.sampled_from(["new", "close", "cross", "part"])) if pos else "new"
        if kind == "close":
            side, qty = ("sell" if pos > 0 else "buy"), abs(pos)
        elif kind == "cross":
            side, qty = ("sell" if pos > 0 else "buy"), abs(pos) * draw(st.floats(1.01, 3.0))
        elif kind == "part":
            side, qty = ("sell" if pos > 0 else "buy"), abs(pos) * draw(st.floats(0.01, 0.99))
        else:
            side = draw(st.sampled_from(["buy", "sell"]))
            qty = draw(st.sampled_from([0.1, 0.2, 0.3, 1.0]) | st.floats(0.001, 10.0))
        asset = draw(st.sampled_from(["USDT", "BTC", "BNB", "", "usdt", "bnb"]))
        rate = draw(st.sampled_from([0.0, 0.001]) | st.floats(0.0, 0.01))
        fee = {"USDT": rate * qty * price, "BTC": rate * qty, "BNB": rate * qty * price / 300.0,
               "": 0.0}[asset.upper()]
        txs.append(Transaction(t, SYMBOL, side, price, qty, fee, asset, None, i + 2))  # type: ignore[arg-type]
        eff = qty - fee if asset == "BTC" and side == "buy" else \
            qty + fee if asset == "BTC" else qty
        pos += eff if side == "buy" else -eff
    txs = list(draw(st.permutations(txs)))
    capital = draw(st.sampled_from([10_000.0, 1_000.0]) | st.floats(100.0, 1e6))
    return Scenario(candles, txs, capital, model or draw(models()), {"BNB": bnb})


def close(a: float, b: float, rel: float, abs_: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


CURVES = ("equity", "cash", "position", "realized", "unrealized", "open_fees", "drawdown")
INT_FILL_FIELDS = ("row", "time", "bar", "replay_bar", "replay_time", "side")
INT_TRADE_FIELDS = ("entry_idx", "exit_idx", "entry_time", "exit_time", "direction",
                    "exit_reason")


def diff(got: Replay, want: RefResult, scale: float, rel: float = 1e-9) -> list[str]:
    """Differences between the kernel's replay and the reference's (empty when equal within
    ``rel``; money and quantities also within ``rel * scale``)."""
    out: list[str] = []
    tol = rel * scale
    for name in CURVES:
        a, b = getattr(got, name), getattr(want, name)
        if len(a) != len(b):
            out.append(f"{name}: length {len(a)} vs {len(b)}")
            continue
        for j, (x, y) in enumerate(zip(a.tolist(), b, strict=True)):
            if not close(x, y, rel, tol if name != "drawdown" else rel):
                out.append(f"{name}[{j}]: {x!r} vs {y!r}")
                break
    out += _diff_rows("fill", got.fills, want.fills, INT_FILL_FIELDS, rel, tol)
    out += _diff_rows("trade", got.trades, want.trades, INT_TRADE_FIELDS, rel, tol)
    if got.dropped_rows.tolist() != want.dropped_rows:
        out.append(f"dropped {got.dropped_rows.tolist()} vs {want.dropped_rows}")
    return out


def _diff_rows(what: str, got: Any, want: list[dict[str, float]], ints: tuple[str, ...],
               rel: float, tol: float) -> list[str]:
    out: list[str] = []
    if len(got) != len(want):
        return [f"{len(got)} {what}s vs {len(want)}"]
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        for name in got.dtype.names:
            x, y = g[name].item(), w[name]
            ok = x == y if name in ints else close(x, y, rel, tol if name != "return" else rel)
            if not ok:
                out.append(f"{what} {i} {name}: {x!r} vs {y!r}")
    return out


def scale_of(s: Scenario) -> float:
    """The size of the money amounts of a scenario: a tolerance unit for sums near zero."""
    notional = sum(t.quantity * t.price for t in s.txs)
    hi = float(max(s.candles.high.max(), max((t.price for t in s.txs), default=0.0)))
    qty = sum(t.quantity for t in s.txs)
    return s.capital + 2.0 * notional + qty * hi * 1.1
