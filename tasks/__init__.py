"""Jobs and exchange adapters: market-data sync and live klines (ccxt), and later the executor,
the progress channel and the Celery wrappers. ``tasks`` calls ``store`` and ``domain``, never
``graph`` or ``cli``."""
