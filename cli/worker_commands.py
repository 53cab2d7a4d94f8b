"""``backtest worker`` and ``backtest beat``: Celery's worker and beat with the project's config.

``backtest worker [--concurrency N] [--queues backtests,sweeps,sync,replays] [--pool prefork|solo]
[--loglevel info] [--hostname NAME]`` runs a Celery worker of ``tasks.execution.celery.app.app``: the
settings come from the environment (``REDIS_URL``, ``DATABASE_URL``, ``CELERY_BROKER_URL``,
``CELERY_VISIBILITY_TIMEOUT``, ``JOB_*``...), the same as the API's. Each worker process runs one
job at a time and the engine with one thread (``ENGINE_THREADS=1`` unless set): the
processes are the unit of parallelism, so ``--concurrency`` (default: the number of CPUs) is how
many jobs run at once on the machine.

``backtest beat`` runs Celery beat: the periodic tasks of ``tasks.execution.celery.app`` (the stuck-job
recovery, and the ``WATCH_LIST`` refresh when set). Run exactly one beat per deployment.
"""

from __future__ import annotations

import argparse
import os

from cli.errors import UsageError
from cli.lazy import lazy_command


def _app() -> object:
    from store.settings import get_settings
    from tasks.execution.celery.app import CeleryNotConfigured, app, configure

    try:
        settings = get_settings()
        configure(app, settings)
    except (ValueError, CeleryNotConfigured) as err:
        raise UsageError(str(err)) from None
    return app


def worker_argv(args: argparse.Namespace) -> list[str]:
    argv = ["worker", f"--loglevel={args.loglevel}", f"--pool={args.pool}"]
    if args.concurrency:
        argv.append(f"--concurrency={args.concurrency}")
    if args.queues:
        argv.append(f"--queues={args.queues}")
    if args.hostname:
        argv.append(f"--hostname={args.hostname}")
    argv += ["--without-gossip", "--without-mingle"]
    return argv


def cmd_worker(args: argparse.Namespace) -> int:
    os.environ.setdefault("ENGINE_THREADS", "1")
    app = _app()
    from tasks.execution.celery import runtime as worker_runtime

    worker_runtime.TASKS_IN_MAIN_PROCESS = args.pool == "solo"
    from tasks.request_ids import configure_logging

    configure_logging()  # a job's log lines carry the id of the request that started it
    app.worker_main(worker_argv(args))  # type: ignore[attr-defined]
    return 0


def cmd_beat(args: argparse.Namespace) -> int:
    app = _app()
    argv = ["beat", f"--loglevel={args.loglevel}"]
    if args.schedule:
        argv.append(f"--schedule={args.schedule}")
    app.start(argv)  # type: ignore[attr-defined]
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    worker = sub.add_parser("worker", help="run a Celery worker for backtests, sweeps and syncs "
                                           "(EXECUTOR=celery)")
    worker.add_argument("--concurrency", type=int, metavar="N",
                        help="worker processes, i.e. jobs at once (default: the number of CPUs)")
    worker.add_argument("--queues", metavar="Q1,Q2",
                        help="only these queues (backtests, sweeps, sync, replays; default all)")
    worker.add_argument("--pool", choices=("prefork", "solo"), default="prefork",
                        help="prefork (default): child processes; solo: this process only")
    worker.add_argument("--hostname", metavar="NAME", help="the worker's node name")
    worker.add_argument("--loglevel", default="info", help="debug, info (default), warning...")
    worker.set_defaults(func=lazy_command("cli.worker_commands:cmd_worker"))

    beat = sub.add_parser("beat", help="run Celery beat: stuck-job recovery and the WATCH_LIST "
                                       "refresh (one per deployment)")
    beat.add_argument("--loglevel", default="info", help="debug, info (default), warning...")
    beat.add_argument("--schedule", metavar="FILE",
                      help="where beat keeps its state (default: celerybeat-schedule here)")
    beat.set_defaults(func=lazy_command("cli.worker_commands:cmd_beat"))
