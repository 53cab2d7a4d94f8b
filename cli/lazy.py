"""Commands imported only when they run: ``lazy_command("cli.db_commands:cmd_db_info")``.

Shared by ``cli.main`` and the modules that declare their own subcommands
(``cli.worker_commands``, ``cli.replay_commands``), so that none of them imports ``cli.main``
back. Only the standard library here: ``backtest --help`` and ``backtest run`` never pay for
importing the database or exchange libraries.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Iterator

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


class LazyChoices:
    """The ``choices`` of an option, read from ``module:name`` the first time they are needed
    (parsing or ``--help`` of that subcommand), not when the parser is built. Give the option a
    ``metavar``: argparse would list the choices in its usage otherwise."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._values: tuple[str, ...] | None = None

    def _load(self) -> tuple[str, ...]:
        if self._values is None:
            module, _, name = self._target.partition(":")
            self._values = tuple(getattr(importlib.import_module(module), name))
        return self._values

    def __contains__(self, value: object) -> bool:
        return value in self._load()

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())
