"""Tortoise built-in migrations of the ``models`` app (see store/db.py)."""
