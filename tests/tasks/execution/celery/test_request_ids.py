"""The id of the request that started a job reaches the Celery worker that runs it: the task
message carries it in a header, and the worker hands it to the job's life cycle (whose log lines
then show it)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tasks import request_ids
from tasks.execution.celery import tasks as worker_tasks
from tasks.execution.celery.executor import send_job


class Sender:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def send_task(self, name: str, **kwargs: Any) -> None:
        self.sent.append({"name": name, **kwargs})


@pytest.mark.asyncio
async def test_the_task_message_carries_the_request_id() -> None:
    sender = Sender()
    token = request_ids.REQUEST_ID.set("req-123")
    try:
        await send_job("backtest", 7, sender=sender)  # type: ignore[arg-type]
    finally:
        request_ids.REQUEST_ID.reset(token)
    await send_job("backtest", 8, sender=sender)  # type: ignore[arg-type]  # outside a request
    assert sender.sent[0]["headers"] == {"request_id": "req-123"}
    assert sender.sent[0]["args"] == ["backtest", 7]
    assert sender.sent[1]["headers"] is None


def test_the_worker_hands_the_request_id_to_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []

    class Runtime:
        def run(self, coroutine: Any) -> None:
            coroutine.close()
            seen.append(request_ids.job_request_id("backtest", 9))

    monkeypatch.setattr(worker_tasks, "runtime", Runtime)
    task = SimpleNamespace(request=SimpleNamespace(get={"request_id": "req-9"}.get))

    async def body(_: Any) -> None:
        return None

    worker_tasks._execute(task, "backtest", 9, body)  # type: ignore[arg-type]
    assert seen == ["req-9"]
