"""Pure backtesting core: candles, indicators, strategies, the execution kernel and metrics.

Nothing here touches a database, the network, environment variables or a framework; it
imports only numpy, numba and the standard library (an import-linter contract checks it).
"""
