"""Errors of the command line itself (bad options, unreadable files)."""

from __future__ import annotations


class UsageError(Exception):
    """A bad option value or an unreadable file; the message says which and why."""
