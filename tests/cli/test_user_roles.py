"""``backtest users set-role``, and the audit entries of the account commands (set-password,
set-role, disable/enable), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import sys

import pytest

from store.db import database
from store.models import AuditLog
from tests.cli.test_serve import env, run_cli, use_db

__all__ = ["env", "use_db"]  # fixtures


def audit_rows() -> list[tuple[str, str, str, str, dict[str, object]]]:
    async def read() -> list[tuple[str, str, str, str, dict[str, object]]]:
        async with database():
            return [(e.action, e.outcome, e.actor_email, e.entity_type, e.details)
                    for e in await AuditLog.all().order_by("id")]
    return asyncio.run(read())


def test_set_role_and_its_audit(use_db: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    for email, admin in (("root@example.com", True), ("bob@example.com", False)):
        use_db.setattr(sys, "stdin", io.StringIO("a long password\n"))
        args = ["users", "create", email, "--password-stdin"] + (["--admin"] if admin else [])
        assert run_cli(capsys, *args)[0] == 0
    code, out, err = run_cli(capsys, "users", "set-role", "Bob@example.com", "viewer")
    assert code == 0 and "bob@example.com (viewer)" in out, err
    code, _, err = run_cli(capsys, "users", "set-role", "root@example.com", "trader")
    assert code == 2 and "last active admin" in err, err
    code, _, err = run_cli(capsys, "users", "set-role", "nobody@example.com", "admin")
    assert code == 2 and "no account" in err
    with pytest.raises(SystemExit):  # argparse refuses an unknown role
        run_cli(capsys, "users", "set-role", "bob@example.com", "boss")
    assert "invalid choice" in capsys.readouterr().err
    use_db.setattr(sys, "stdin", io.StringIO("another long password\n"))
    assert run_cli(capsys, "users", "set-password", "bob@example.com", "--password-stdin")[0] == 0
    assert run_cli(capsys, "users", "disable", "bob@example.com")[0] == 0

    rows = audit_rows()
    assert [(a, o, t) for a, o, _, t, _ in rows] == [
        ("user.role_change", "ok", "User"), ("user.role_change", "denied", "User"),
        ("auth.password_change", "ok", "User"), ("user.active_change", "ok", "User")]
    assert all(actor.startswith("cli") for _, _, actor, _, _ in rows)
    assert rows[0][4] == {"email": "bob@example.com", "from": "trader", "to": "viewer",
                          "via": "cli"}
    assert "password" not in str(rows[2][4]).replace("password_change", "")
