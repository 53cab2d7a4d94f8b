"""The ``backtest`` command.

Every expected failure (bad file, bad strategy, bad option) ends with one line on stderr and exit
code 2; nothing prints a traceback unless ``BACKTEST_DEBUG=1`` is set.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from cli.errors import UsageError
from cli.lazy import lazy_command
from domain.errors import DomainError, StrategyError

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 70


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backtest",
        description="Backtest crypto trading strategies on OHLCV candles.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="backtest one strategy and print its metrics")
    _data_args(run)
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="set a strategy parameter (repeatable), e.g. --param fast=12")
    run.add_argument("--trades-out", metavar="FILE",
                     help="write the trades to FILE (.csv, or .json for a JSON list)")
    run.add_argument("--json", action="store_true",
                     help="print one JSON object (final_equity, metrics, trades) instead of a table")
    run.set_defaults(func=lazy_command("cli.commands:cmd_run"))

    sweep = sub.add_parser("sweep", help="run a parameter sweep and print the best sets")
    _data_args(sweep)
    sweep.add_argument("--grid", action="append", default=[], metavar="NAME=SPEC",
                       help="values of a parameter: start:stop:step or v1,v2,... (repeatable); "
                            "parameters not given use their range/values from the document")
    sweep.add_argument("--rank-by", default="sharpe", metavar="METRIC",
                       help="metric to rank by (default sharpe)")
    sweep.add_argument("--top", type=int, default=10, help="how many rows to print (default 10)")
    sweep.add_argument("--json", action="store_true", help="print the ranked table as JSON")
    sweep.set_defaults(func=lazy_command("cli.commands:cmd_sweep"))

    demo = sub.add_parser("demo-data", help="write the synthetic DEMO/USDT candle set as CSV")
    demo.add_argument("--out", required=True, metavar="FILE", help="CSV file to write")
    demo.add_argument("--bars", type=int, default=20_000, help="number of candles (default 20000)")
    demo.add_argument("--timeframe", default="1h", help="timeframe (default 1h)")
    demo.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    demo.add_argument("--start", default="2023-01-01T00:00:00Z",
                      help="open time of the first candle, ISO-8601 (default 2023-01-01)")
    demo.set_defaults(func=lazy_command("cli.commands:cmd_demo_data"))

    schema = sub.add_parser("schema", help="print the JSON Schema of strategy documents")
    schema.set_defaults(func=lazy_command("cli.commands:cmd_schema"))

    warm = sub.add_parser("warm", help="compile every engine and indicator kernel into numba's "
                                       "cache (make install runs it)")
    warm.add_argument("--quiet", action="store_true", help="print nothing")
    warm.set_defaults(func=lazy_command("cli.warm_commands:cmd_warm"))

    _data_parsers(sub)
    _db_parsers(sub)
    _serve_parsers(sub)
    from cli import cache_commands, keys_commands
    from cli.replay_commands import register as register_replay
    from cli.worker_commands import register as register_workers

    register_workers(sub)
    register_replay(sub)
    cache_commands.register(sub)
    keys_commands.register(sub)
    return parser


def _data_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    data = sub.add_parser("data", help="market data in the database: sync, import, list, watch")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")

    sync = dsub.add_parser("sync", help="fetch candles from the exchange into the database")
    sync.add_argument("symbol", help="market symbol, e.g. BTC/USDT")
    sync.add_argument("timeframe", help="timeframe, e.g. 1h")
    sync.add_argument("--since", required=True, metavar="ISO", help="first bar's open time")
    sync.add_argument("--until", metavar="ISO", help="end of the range (default: now)")
    sync.add_argument("--exchange", default="binance", help="exchange id (default binance)")
    sync.set_defaults(func=lazy_command("cli.data_sync_commands:cmd_data_sync"))

    imp = dsub.add_parser("import", help="import a candle CSV (Binance dump or plain) into the database")
    imp.add_argument("file", help="CSV or .zip file")
    imp.add_argument("--symbol", required=True, help="market symbol, e.g. BTC/USDT")
    imp.add_argument("--timeframe", help="timeframe (default: inferred from the file)")
    imp.add_argument("--exchange", default="binance", help="exchange id (default binance)")
    imp.set_defaults(func=lazy_command("cli.db_commands:cmd_data_import"))

    lst = dsub.add_parser("list", help="what is stored: first, last, count and gaps per market")
    lst.add_argument("--exchange", help="only this exchange")
    lst.add_argument("--symbol", help="only this symbol")
    lst.add_argument("--timeframe", help="only this timeframe")
    lst.add_argument("--json", action="store_true", help="print the coverage as JSON")
    lst.set_defaults(func=lazy_command("cli.db_commands:cmd_data_list"))

    watch = dsub.add_parser("watch", help="stream live candles into the database (Ctrl-C stops)")
    watch.add_argument("symbol", help="market symbol, e.g. BTC/USDT")
    watch.add_argument("timeframe", help="timeframe, e.g. 1m")
    watch.add_argument("--exchange", default="binance", help="exchange id (default binance)")
    watch.set_defaults(func=lazy_command("cli.data_sync_commands:cmd_data_watch"))


def _db_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="the database: migrate, info")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    migrate = dbsub.add_parser("migrate", help="apply the migrations (creates the database file)")
    migrate.add_argument("--seed-demo", action="store_true",
                         help="also store the synthetic demo candles (demo DEMO/USDT 1h) if missing")
    migrate.set_defaults(func=lazy_command("cli.db_commands:cmd_db_migrate"))
    info = dbsub.add_parser("info", help="backend, market data storage mode, tables")
    info.add_argument("--json", action="store_true", help="print the information as JSON")
    info.set_defaults(func=lazy_command("cli.db_commands:cmd_db_info"))


def _serve_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from cli.serve_commands import DEFAULT_HOST, DEFAULT_PORT, port_number, worker_count

    serve = sub.add_parser("serve", help="serve the GraphQL API (and the web app) with uvicorn")
    serve.add_argument("--host", default=DEFAULT_HOST,
                       help=f"interface to listen on (default {DEFAULT_HOST}: this machine "
                            "only; 0.0.0.0 for every interface)")
    serve.add_argument("--port", type=port_number, default=DEFAULT_PORT,
                       help=f"TCP port (default {DEFAULT_PORT})")
    serve.add_argument("--workers", type=worker_count, default=1, metavar="N",
                       help="API processes (default 1; more need PostgreSQL and REDIS_URL; "
                            "usually the number of CPUs then)")
    serve.add_argument("--reload", action="store_true",
                       help="restart when a source file changes (development only; off by default)")
    serve.set_defaults(func=lazy_command("cli.serve_commands:cmd_serve"))

    users = sub.add_parser("users", help="accounts: create, list, set-password, set-role, disable, "
                                           "enable")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="SUBCOMMAND")
    create = usub.add_parser("create", help="create an account")
    create.add_argument("email", help="the account's email (its login)")
    create.add_argument("--admin", action="store_true",
                        help="an admin, who can read and change everyone's objects")
    create.add_argument("--name", help="display name")
    create.add_argument("--password-stdin", action="store_true",
                        help="read the password from the first line of stdin (default: ask)")
    create.set_defaults(func=lazy_command("cli.user_commands:cmd_users_create"))
    lst = usub.add_parser("list", help="every account")
    lst.add_argument("--json", action="store_true", help="print the accounts as JSON")
    lst.set_defaults(func=lazy_command("cli.user_commands:cmd_users_list"))
    setpw = usub.add_parser("set-password", help="give an account a new password")
    setpw.add_argument("email")
    setpw.add_argument("--password-stdin", action="store_true",
                       help="read the password from the first line of stdin (default: ask)")
    setpw.set_defaults(func=lazy_command("cli.user_commands:cmd_users_set_password"))
    setrole = usub.add_parser("set-role", help="give an account a role: viewer (reads), "
                                               "trader (also runs and writes) or admin")
    setrole.add_argument("email")
    setrole.add_argument("role", choices=["viewer", "trader", "admin"])
    setrole.set_defaults(func=lazy_command("cli.user_commands:cmd_users_set_role"))
    for name, verb in (("disable", "stop an account from signing in and using its tokens"),
                       ("enable", "let a disabled account sign in again")):
        cmd = usub.add_parser(name, help=verb)
        cmd.add_argument("email")
        cmd.set_defaults(func=lazy_command(f"cli.user_commands:cmd_users_{name}"))
    demo = usub.add_parser("ensure-demo", help="create the demo account if missing and print "
                                               "its password (only when created)")
    demo.set_defaults(func=lazy_command("cli.user_commands:cmd_users_ensure_demo"))


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", metavar="FILE",
                   help="candles: a Binance kline dump or a timestamp,open,high,low,close,volume "
                        "CSV; without it, the candles of --exchange/--symbol/--timeframe are "
                        "read from the database")
    p.add_argument("--strategy", required=True, metavar="FILE.json", help="strategy document")
    p.add_argument("--from", dest="date_from", metavar="ISO", help="first bar's open time (inclusive)")
    p.add_argument("--to", dest="date_to", metavar="ISO", help="end of the range (exclusive)")
    p.add_argument("--timeframe", metavar="TF", help="timeframe of the data (default: inferred)")
    p.add_argument("--symbol", default="",
                   help="market symbol (e.g. BTC/USDT): which stored candles to use without --data")
    p.add_argument("--exchange", default="binance",
                   help="exchange of the stored candles (default binance; the demo set is 'demo')")
    p.add_argument("--risk-free", type=float, default=0.0, metavar="RATE",
                   help="annual risk-free rate for Sharpe/Sortino, as a fraction (default 0)")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except StrategyError as err:
        print(f"error: {err}", file=sys.stderr)
    except (DomainError, UsageError) as err:
        print(f"error: {err}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:  # an unexpected failure: a bug, not bad input
        if os.environ.get("BACKTEST_DEBUG") == "1":
            raise
        print(f"internal error: {type(err).__name__}: {err} (set BACKTEST_DEBUG=1 for details)",
              file=sys.stderr)
        return EXIT_INTERNAL
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
