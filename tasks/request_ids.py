"""The id of the API request being served, in every log line of that request and of the jobs it
starts.

``graph.http`` sets :data:`REQUEST_ID` for each HTTP request and websocket connection (the
``X-Request-ID`` header). :func:`install_log_records` gives every log record a ``request_id``
attribute (``"-"`` outside a request), so a log format can show it (``%(request_id)s``).

Jobs: ``tasks.jobs.control.start_job`` puts the id into the job's ``queued`` event and
:func:`remember_job` keeps it for the run, which :func:`job_request_id` hands to the job's life
cycle when it starts in this process (the in-process executor): the job's log lines then carry
the id of the request that started it. The Celery executor sends the id in the task message's
``request_id`` header and the worker remembers it the same way, so a worker's log lines of the
job carry it too (:func:`configure_logging` gives the worker a format that shows it).
"""

from __future__ import annotations

import contextvars
import logging
from collections import OrderedDict
from typing import Any

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id",
                                                                         default=None)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [request %(request_id)s] %(message)s"
MAX_REMEMBERED_JOBS = 10_000  # request ids of queued jobs kept for their run (oldest dropped)

_jobs: OrderedDict[tuple[str, int], str] = OrderedDict()
_installed = False


def current_request_id() -> str | None:
    """The id of the request being served (None outside a request)."""
    return REQUEST_ID.get()


def remember_job(kind: str, job_id: int, request_id: str | None) -> None:
    """Keep ``request_id`` for job ``kind``/``job_id`` until it runs in this process."""
    if not request_id:
        return
    _jobs[(kind, job_id)] = request_id
    while len(_jobs) > MAX_REMEMBERED_JOBS:
        _jobs.popitem(last=False)


def job_request_id(kind: str, job_id: int) -> str | None:
    """The id of the request that started job ``kind``/``job_id`` (None when unknown)."""
    return _jobs.pop((kind, job_id), None)


def install_log_records() -> None:
    """Give every log record a ``request_id`` attribute (once per process)."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = REQUEST_ID.get() or "-"
        return record

    logging.setLogRecordFactory(factory)


def configure_logging() -> None:
    """Show request ids in this process's log: every record gets ``request_id``; the app's
    loggers (``graph``, ``tasks``, ``store``) print at INFO through a root handler whose format
    (:data:`LOG_FORMAT`) shows it, when the root logger has no handler yet."""
    install_log_records()
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    for name in ("graph", "tasks", "store"):
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.INFO)
