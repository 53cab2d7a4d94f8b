"""``TORTOISE_ORM`` for Tortoise's own command line, built from the environment's settings.

Only the ``tortoise`` tool imports this module (it reads the environment on import)::

    .venv/bin/tortoise -c store.tortoise_config.TORTOISE_ORM makemigrations --name NAME
    .venv/bin/tortoise -c store.tortoise_config.TORTOISE_ORM history

The application itself calls :func:`store.db.tortoise_config` with explicit settings.
"""

from __future__ import annotations

from typing import Any

from store.db import tortoise_config
from store.settings import get_settings

TORTOISE_ORM: dict[str, Any] = tortoise_config(get_settings())
