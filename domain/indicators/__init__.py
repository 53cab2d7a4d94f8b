"""Technical indicators: numba kernels in ``nb.py``/``nb_osc.py``, names/parameters/outputs in
``api.py``, price series by name in ``prices.py``."""

from domain.indicators.api import (
    INDICATORS,
    PRICE_FIELDS,
    IndicatorSpec,
    ParamSpec,
    ParamValue,
    compute_indicator,
    price_series,
)

__all__ = [
    "INDICATORS",
    "PRICE_FIELDS",
    "IndicatorSpec",
    "ParamSpec",
    "ParamValue",
    "compute_indicator",
    "price_series",
]
