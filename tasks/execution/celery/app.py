"""The Celery app: its configuration from the settings, its queues and its beat schedule.

``app`` is configured from the environment (``store.settings``) on import, so
``celery -A tasks.execution.celery.app worker`` works as well as ``backtest worker``; an API process
configures it again with its own settings (:func:`configure`). The tasks are in
``tasks.execution.celery.tasks``.

Reliability settings (see the README's "Workers" section for the trade-offs):

* ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is acknowledged when its task
  ends, so a task whose worker dies is delivered again. On a Redis broker the redelivery waits
  for ``CELERY_VISIBILITY_TIMEOUT`` (counted from the first delivery); kombu looks for such
  messages every ``unacked_restore_interval`` seconds.
* ``worker_prefetch_multiplier = 1``: a worker holds one message per process, so a long
  backtest does not keep others waiting behind it while another worker is idle.
* Time limits: the job bodies stop a run cooperatively after ``JOB_TIME_LIMIT`` (at the next
  chunk, failing it with a message); Celery's soft limit is 30 s later and its hard limit
  (which kills the process; the run is then recovered like one whose worker died) 60 s later.
* Queues: one per job kind (``JobKind.queue``: ``backtests``, ``sweeps``, ``sync``,
  ``replays``); a worker consumes all of them unless ``--queues`` says otherwise, so heavy sweeps can get workers of their own.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue  # type: ignore[attr-defined]

from store.settings import Settings, get_settings

MAINTENANCE_QUEUE = "backtests"
SYNC_QUEUE = "sync"
# ``job.run`` and ``job.part`` are sent to their kind's queue (``JobKind.queue``) explicitly
ROUTES = {
    "market.refresh_watch_list": {"queue": SYNC_QUEUE},
    "maintenance.recover": {"queue": MAINTENANCE_QUEUE},
}


def queues() -> tuple[str, ...]:
    """Every queue: those of the job kinds (``tasks.jobs.registry``) and of the periodic
    tasks."""
    from tasks.jobs.registry import job_kinds

    found = {k.queue for k in job_kinds().values()} | {MAINTENANCE_QUEUE, SYNC_QUEUE}
    return tuple(sorted(found))


class CeleryNotConfigured(RuntimeError):
    """The Celery executor or a worker was asked for without a broker."""


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery's settings for ``settings`` (see the module docstring)."""
    visibility = settings.visibility_timeout_s
    transport = {"visibility_timeout": visibility,
                 "unacked_restore_interval": max(1.0, min(10.0, visibility / 4)),
                 "unacked_restore_throttle": 1}
    limit = settings.job_time_limit_s
    schedule: dict[str, Any] = {
        "recover-stuck-jobs": {"task": "maintenance.recover",
                               "schedule": max(1.0, settings.job_stale_after_s / 2)},
    }
    if settings.watch_list:
        schedule["refresh-watch-list"] = {"task": "market.refresh_watch_list",
                                          "schedule": settings.watch_interval_s}
    return {
        "broker_url": settings.broker_url,
        "result_backend": settings.redis_url,
        "broker_transport_options": transport,
        "result_backend_transport_options": {"retry_policy": {"timeout": 5.0}},
        "broker_connection_retry_on_startup": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_soft_time_limit": limit + 30,
        "task_time_limit": limit + 60,
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_queues": [Queue(q, Exchange(q, type="direct"), routing_key=q) for q in queues()],
        "task_default_queue": "backtests",
        "task_routes": ROUTES,
        "beat_schedule": schedule,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "timezone": "UTC",
    }


def configure(target: Celery, settings: Settings) -> Celery:
    """Apply ``settings`` to ``target``; :class:`CeleryNotConfigured` without a broker."""
    if not settings.broker_url or not settings.redis_url:
        raise CeleryNotConfigured(
            "the Celery executor needs REDIS_URL (the result backend and the channel of "
            "progress events; also the broker unless CELERY_BROKER_URL is set)")
    target.conf.update(celery_config(settings))
    return target


def make_app(settings: Settings) -> Celery:
    """A Celery app of its own for ``settings``, to send tasks by name (the API's executor:
    its connections are its own, whatever else the process configured)."""
    return configure(Celery("backtest", set_as_current=False), settings)


app = Celery("backtest", include=["tasks.execution.celery.tasks"])
_env = get_settings()
if _env.redis_url:
    configure(app, _env)
