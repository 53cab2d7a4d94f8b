"""The password policy: what a new password must be (``register``, ``changePassword``,
``backtest users create`` and ``set-password`` all ask :func:`password_problem`).

- at least :data:`MIN_PASSWORD_LENGTH` characters (and at most :data:`MAX_PASSWORD_LENGTH`:
  argon2 hashes any length, this bounds the work per request);
- not only spaces (or other blanks);
- not the account's email, nor the part before its ``@`` (compared case-insensitively, blanks
  around ignored);
- not one of the common passwords in ``common_passwords.txt`` (shipped beside this module;
  compared case-insensitively), which an attacker tries first.
"""

from __future__ import annotations

import functools
from pathlib import Path

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased (read once)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines
                     if line.strip() and not line.startswith("#"))


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why ``password`` is not acceptable (for the account with ``email``), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"use at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"use at most {MAX_PASSWORD_LENGTH} characters"
    if not password.strip():
        return "a password cannot be only spaces"
    folded = password.strip().lower()
    if email:
        address = email.strip().lower()
        if folded in (address, address.partition("@")[0]):
            return "a password cannot be your email address or the part before the @"
    if folded in common_passwords():
        return ("this is one of the most common passwords, which attackers try first: "
                "choose another")
    return None
