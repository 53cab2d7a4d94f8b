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

``LOG_FORMAT=json`` (``store.settings``) makes :func:`configure_logging` write one JSON object
per line instead (:class:`JsonFormatter`: ``time``, ``level``, ``logger``, ``message``,
``request_id``, ``process``, and ``exception`` with the traceback when there is one), for the
server (``graph.http.configure_logging`` gives uvicorn's own lines the same format) and the
Celery worker, so a log collector can join a request's lines to its jobs' by ``request_id``.
"""

from __future__ import annotations

import contextvars
import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import orjson

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


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: ``time`` (ISO 8601, UTC, milliseconds),
    ``level``, ``logger``, ``message`` (formatted with its arguments), ``request_id`` (None
    outside a request), ``process``, and ``exception`` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None)
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if request_id in (None, "-") else request_id,
            "process": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


def make_formatter(log_format: str | None = None) -> logging.Formatter:
    """The formatter ``log_format`` names (``text`` or ``json``; default: ``LOG_FORMAT``)."""
    if log_format is None:
        from store.settings import get_settings

        log_format = get_settings().log_format
    return JsonFormatter() if log_format == "json" else logging.Formatter(LOG_FORMAT)


def configure_logging(log_format: str | None = None) -> None:
    """Show request ids in this process's log: every record gets ``request_id``; the app's
    loggers (``graph``, ``tasks``, ``store``) print at INFO through a root handler, when the
    root logger has no handler yet, whose format (:func:`make_formatter`: ``log_format``, by
    default ``LOG_FORMAT``: :data:`LOG_FORMAT`'s text or :class:`JsonFormatter`) shows it."""
    install_log_records()
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(make_formatter(log_format))
    root.addHandler(handler)
    for name in ("graph", "tasks", "store"):
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.INFO)
