"""``backtest users ...``: accounts from the command line (the API has no admin screens yet).

* ``users create EMAIL [--admin] [--name NAME] [--password-stdin]``: a new account. The
  password is read from the first line of stdin with ``--password-stdin`` (for scripts:
  ``echo "$PW" | backtest users create ...``), else asked twice on the terminal.
* ``users list [--json]``: every account.
* ``users set-password EMAIL [--password-stdin]``: a new password (e.g. for a lost demo one);
  every session of the account ends and its personal access tokens are revoked.
* ``users set-role EMAIL viewer|trader|admin``: a new role, from the account's next request
  (the last active admin cannot be demoted: make another one first).
* ``users disable EMAIL`` / ``users enable EMAIL``: a disabled account cannot log in, and its
  tokens (access, refresh and personal access tokens) are refused from the next request on;
  disabling ends its sessions for good.
* ``users ensure-demo``: the demo account of ``make run``; its random password is printed once,
  when the account is created, and kept nowhere but as its hash.

Each opens the database of ``DATABASE_URL`` like the ``db`` commands; a broken rule (bad email,
a password against the policy of ``store.passwords``, email taken) is one line on stderr and
exit code 2 (``cli.main``). Password, role and enable/disable changes are written to the audit
log with the actor ``cli:<OS user>`` (``store.audit``).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from cli.db_commands import table, with_db
from cli.errors import UsageError
from store import audit as store_audit
from store import user_admin
from store import users as store_users
from store.models import Role
from store.users import UserRecord


def _password(args: argparse.Namespace) -> str:
    if getattr(args, "password_stdin", False):
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: stdin held no password (one line expected)")
        return password
    if not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password: pipe it in with "
                         "--password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != password:
        raise UsageError("the two passwords differ")
    return password


def _actor() -> str:
    """Who ran the command, for the audit log."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment
        return "cli"


def _describe(user: UserRecord) -> str:
    state = "" if user.is_active else ", disabled"
    return f"user {user.id} {user.email} ({user.role}{state})"


def cmd_users_create(args: argparse.Namespace) -> int:
    """Create an account (``--admin`` for an admin)."""
    role = Role.ADMIN if getattr(args, "admin", False) else Role.TRADER
    name = getattr(args, "name", None) or ""
    if problems := store_users.account_problems(args.email, None, name):
        raise UsageError("; ".join(f"{field}: {message}" for field, message in problems))
    # a taken email is said before the password is asked for (and typed twice for nothing)
    if with_db(lambda: store_users.get_user_by_email(args.email)) is not None:
        raise UsageError(f"an account with email {store_users.normalize_email(args.email)} "
                         "exists already")
    password = _password(args)
    user = with_db(lambda: store_users.create_user(args.email, password, name, role))
    print(f"created {_describe(user)}")
    return 0


def cmd_users_list(args: argparse.Namespace) -> int:
    """Print every account."""
    users = with_db(store_users.list_users)
    if getattr(args, "json", False):
        print(json.dumps([{"id": u.id, "email": u.email, "display_name": u.display_name,
                           "role": str(u.role), "is_active": u.is_active,
                           "created_at": u.created_at.isoformat()} for u in users], indent=2))
        return 0
    if not users:
        print("no accounts yet: create one with `backtest users create EMAIL`")
        return 0
    rows = [[str(u.id), u.email, u.display_name, str(u.role), "yes" if u.is_active else "no",
             u.created_at.strftime("%Y-%m-%d %H:%M")] for u in users]
    print(table(["id", "email", "name", "role", "active", "created (UTC)"], rows, {0}))
    return 0


def cmd_users_set_password(args: argparse.Namespace) -> int:
    """Give an account a new password."""
    password = _password(args)
    async def work() -> UserRecord | None:
        user = await store_users.set_password(args.email, password)
        if user is not None:
            await store_audit.record("auth.password_change", actor_email=_actor(),
                                     target_type="User", target_id=user.id,
                                     details={"email": user.email, "via": "cli"})
        return user

    user = with_db(work)
    if user is None:
        raise UsageError(f"no account with email {store_users.normalize_email(args.email)}")
    print(f"new password set for {_describe(user)}")
    return 0


def cmd_users_set_role(args: argparse.Namespace) -> int:
    """Give an account a role (the last active admin cannot be demoted)."""
    role = Role(args.role)

    async def work() -> UserRecord | None:
        user_id = await user_admin.id_of_email(args.email)
        if user_id is None:
            return None
        try:
            changed = await user_admin.set_role(user_id, role)
        except user_admin.ChangeRefused as err:
            await store_audit.record("user.role_change", actor_email=_actor(),
                                     target_type="User", target_id=user_id, outcome="denied",
                                     details={"role": role.value, "reason": err.message,
                                              "via": "cli"})
            raise UsageError(err.message) from err
        assert changed is not None
        user, before = changed
        if before != role:
            await store_audit.record("user.role_change", actor_email=_actor(),
                                     target_type="User", target_id=user.id,
                                     details={"email": user.email, "from": before.value,
                                              "to": role.value, "via": "cli"})
        return user

    user = with_db(work)
    if user is None:
        raise UsageError(f"no account with email {store_users.normalize_email(args.email)}")
    print(f"role set: {_describe(user)}")
    return 0


def _set_active(args: argparse.Namespace, active: bool) -> int:
    async def work() -> UserRecord | None:
        user = await store_users.set_active(args.email, active)
        if user is not None:
            await store_audit.record("user.active_change", actor_email=_actor(),
                                     target_type="User", target_id=user.id,
                                     details={"email": user.email, "active": active,
                                              "via": "cli"})
        return user

    user = with_db(work)
    if user is None:
        raise UsageError(f"no account with email {store_users.normalize_email(args.email)}")
    print(f"{'enabled' if active else 'disabled'} {_describe(user)}")
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    return _set_active(args, False)


def cmd_users_enable(args: argparse.Namespace) -> int:
    return _set_active(args, True)


def cmd_users_ensure_demo(args: argparse.Namespace) -> int:
    """Create the demo account when missing and print its password (that one time only)."""
    user, password = with_db(store_users.ensure_demo_user)
    if password is None:
        print(f"demo account: {user.email} (exists; its password was printed when it was "
              f"created; set a new one with `backtest users set-password {user.email}`)")
    else:
        print(f"demo account created: {user.email}  password: {password}  "
              "(shown this once; it is not stored)")
    return 0
