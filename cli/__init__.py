"""The ``backtest`` command line."""

from cli.numba_cache import configure

configure()  # before anything imports numba
