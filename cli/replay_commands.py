"""``backtest replay ...``: import trade history, list and delete imports, run replays.

* ``replay import FILE --format binance_export|binance_my_trades|plain_csv [--name N]
  [--exchange binance]``: one named batch, all rows or none (every bad row is listed, with its
  row number, column and reason, and nothing is stored); fills already stored are skipped.
* ``replay imports`` / ``replay delete-import ID``: the batches; deleting one deletes its
  transactions.
* ``replay run --symbol S --timeframe TF [--exchange E] [--import ID ...] [--from ISO]
  [--to ISO] [--capital X] [--fill actual|open|close|typical] [--fee-bps N] [--slippage-bps N]
  [--delay N] [--fills-out FILE] [--json]``, or ``replay run --backtest ID [...]`` to replay
  a finished backtest's trades (on other candles with ``--exchange``/``--timeframe``): the
  replay runs in this process, with a progress bar, and is stored like one run through the API.

Every command acts for ``--user EMAIL`` (default: the demo account of ``make run``) on the
database of ``DATABASE_URL``; the rules are in ``domain/replay/rules.py``. This module only
declares the options: the commands (``cli.replay_cli``) are imported when one runs.
"""

from __future__ import annotations

import argparse

from cli.lazy import LazyChoices, lazy_command

# read when parsed: importing the replay rules means importing numba (0.3 s of every command)
FILL_MODELS = LazyChoices("domain.replay.rules:FILL_MODELS")
FORMATS = LazyChoices("domain.transactions.importers:FORMATS")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    replay = sub.add_parser("replay", help="trade history: import it, replay it on candles with "
                                           "what-if fills, fees and slippage")
    rsub = replay.add_subparsers(dest="replay_command", required=True, metavar="SUBCOMMAND")
    imp = rsub.add_parser("import", help="import a trade history file as one batch")
    imp.add_argument("file", help="the file (CSV, XLSX or JSON)")
    imp.add_argument("--format", required=True, choices=FORMATS, metavar="FORMAT",
                     help="the file's format: %(choices)s")
    imp.add_argument("--name", help="the batch's name (default: the file name)")
    imp.add_argument("--exchange", default="binance", help="exchange id (default binance)")
    imp.set_defaults(func=lazy_command("cli.replay_cli:cmd_replay_import"))
    lst = rsub.add_parser("imports", help="the import batches")
    lst.set_defaults(func=lazy_command("cli.replay_cli:cmd_replay_imports"))
    dele = rsub.add_parser("delete-import", help="delete a batch and its transactions")
    dele.add_argument("id", type=int, help="the batch's id (see `replay imports`)")
    dele.set_defaults(func=lazy_command("cli.replay_cli:cmd_replay_delete_import"))

    run = rsub.add_parser("run", help="replay transactions (or a backtest's trades) on candles")
    run.add_argument("--symbol", help="BASE/QUOTE (default with --backtest: the backtest's)")
    run.add_argument("--timeframe", help="bars to mark to market on, e.g. 1h")
    run.add_argument("--exchange", help="whose candles (default binance, or the backtest's)")
    run.add_argument("--backtest", type=int, metavar="ID", help="replay this backtest's trades")
    run.add_argument("--import", dest="imports", type=int, action="append", metavar="ID",
                     help="only the transactions of this import (repeatable; default all)")
    run.add_argument("--from", dest="date_from", metavar="ISO", help="start (inclusive)")
    run.add_argument("--to", dest="date_to", metavar="ISO", help="end (exclusive)")
    run.add_argument("--capital", type=float, help="initial quote balance (default 10000)")
    run.add_argument("--fill", choices=FILL_MODELS, default="actual", metavar="MODEL",
                     help="fill price: actual, or the bar's open, close or typical price "
                          "(%(choices)s)")
    run.add_argument("--fee-bps", type=float, help="fee per fill (default: the actual fees)")
    run.add_argument("--slippage-bps", type=float, default=0.0, help="against the trader")
    run.add_argument("--delay", type=int, default=0, metavar="N", help="fill N bars later")
    run.add_argument("--risk-free", type=float, metavar="RATE", help="annual, for Sharpe")
    run.add_argument("--fills-out", metavar="FILE", help="write the per-fill table as CSV")
    run.add_argument("--json", action="store_true", help="print the result as JSON")
    run.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    run.set_defaults(func=lazy_command("cli.replay_cli:cmd_replay_run"))
    for cmd in (imp, lst, dele, run):
        cmd.add_argument("--user", metavar="EMAIL",
                         help="whose transactions and replays (default: the demo account)")
    for cmd in (imp, lst):
        cmd.add_argument("--json", action="store_true", help="print JSON")
