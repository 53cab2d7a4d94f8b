"""Persistence: settings, Tortoise models and migrations, candle bulk I/O.

The one layer that reads the environment (:mod:`store.settings`) and talks to the database.
It returns ``domain`` types; nothing here imports ``tasks``, ``graph`` or ``cli``.
"""
