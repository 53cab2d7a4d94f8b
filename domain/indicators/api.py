"""Names, parameters and outputs of every indicator (the registry the strategy compiler uses).

CONTRACT (other modules rely on it):
- ``INDICATORS[name]`` is an ``IndicatorSpec``; names are lower-case (``sma``, ``ema``, ``wma``,
  ``rsi``, ``macd``, ``bbands``, ``atr``, ``stoch``, ``roc``, ``vwap``, ``donchian``, ``obv``, ``adx``).
- ``spec.params`` lists the parameters in order, each with a kind (``int`` or ``float``), a default
  and a lower bound; ``source`` (which price series an indicator reads) is a separate ``str``
  parameter listed in ``spec.params`` with kind ``"source"`` for indicators that read one series.
- ``spec.outputs`` names the output series; the first is the default output.
- ``compute_indicator(name, candles, params)`` returns ``{output_name: float64 array}``, each the
  length of ``candles``, NaN during warm-up. ``params`` holds only concrete values (no ``$names``);
  missing ones take their defaults. It raises ``KeyError`` only for an unknown name (callers
  validate first).

The registry itself is built in ``catalog.py``. The exact definition of each indicator is in its
kernel's docstring (``nb.py``, ``nb_osc.py``) and, in short, in ``INDICATORS[name].description``.
``spec.warmup(params, output)`` gives the number of leading NaN bars. Invalid parameter values
(which validated callers never pass) raise ``ValueError`` with a message naming the parameter.
"""

from __future__ import annotations

from domain.candles import Candles
from domain.indicators.catalog import INDICATORS
from domain.indicators.prices import PRICE_FIELDS, price_series
from domain.indicators.spec import F64, IndicatorSpec, Params, ParamSpec, ParamValue

__all__ = [
    "INDICATORS",
    "PRICE_FIELDS",
    "IndicatorSpec",
    "ParamSpec",
    "ParamValue",
    "compute_indicator",
    "price_series",
]


def compute_indicator(name: str, candles: Candles, params: Params) -> dict[str, F64]:
    """Every output of indicator ``name`` on ``candles`` with ``params`` (defaults filled in).

    Returns ``{output: float64 array}`` in ``spec.outputs`` order, each of ``len(candles)``, NaN
    during warm-up. Raises ``KeyError`` for an unknown name, ``ValueError`` for bad parameters.
    """
    spec = INDICATORS[name]
    return spec.compute_fn(candles, spec.resolve(params))
