"""Commands imported only when they run: ``lazy_command("cli.db_commands:cmd_db_info")``.

Shared by ``cli.main`` and the modules that declare their own subcommands
(``cli.worker_commands``, ``cli.replay_commands``), so that none of them imports ``cli.main``
back. Only the standard library here: ``backtest --help`` and ``backtest run`` never pay for
importing the database or exchange libraries.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

Command = Callable[[argparse.Namespace], int]


def lazy_command(target: str) -> Command:
    """A command implemented in ``module:function``, imported only when it runs."""
    module, sep, name = target.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"{target!r}: expected 'module:function'")

    def call(args: argparse.Namespace) -> int:
        func: Command = getattr(importlib.import_module(module), name)
        return func(args)

    return call
