"""Relay global ids: the opaque ``ID`` of every object the API returns.

A global id is the standard base64 of ``TypeName:pk`` (the format of
``strawberry.relay.GlobalID``): ``encode_id("Backtest", 12)`` is ``"QmFja3Rlc3Q6MTI="``. It
names its type, so ``node(id:)`` and ``cancelJob(id:)`` need nothing else.

Arguments
    Every ``ID`` argument takes a global id of the expected type(s). For a transition, a bare
    decimal ASCII id (``"12"``) is accepted too wherever exactly one type is expected; outputs
    are always global ids. Anything else is ``BAD_USER_INPUT`` with a message saying what an id
    looks like: malformed base64, Unicode digits (``"²"``), a sign, spaces, an empty or huge
    value, an id outside the 32-bit signed range of the id columns (``1 .. 2^31-1``), or a
    global id of another type.
"""

from __future__ import annotations

import base64
import binascii
import re

from graph.errors import BadUserInput

MAX_PK = 2**31 - 1  # the id columns are 32-bit signed integers
MAX_ID_LENGTH = 200  # longer is malformed, whatever it holds

_DECIMAL = re.compile(r"[1-9][0-9]{0,9}")  # ASCII digits only (str.isdigit takes "²")
_TYPE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def encode_id(type_name: str, pk: int) -> str:
    """The global id of object ``pk`` of GraphQL type ``type_name``."""
    return base64.b64encode(f"{type_name}:{int(pk)}".encode()).decode()


def _show(value: object) -> str:
    return repr(str(value)[:40])


def _pk(text: str, value: object) -> int:
    if not _DECIMAL.fullmatch(text) or int(text) > MAX_PK:
        raise BadUserInput(f"invalid id {_show(value)}: an id is an opaque string returned by "
                           f"this API (or a whole number from 1 to {MAX_PK})")
    return int(text)


def _expected(types: tuple[str, ...]) -> str:
    return " or ".join(types)


def decode_id(value: str | int, *types: str) -> tuple[str, int]:
    """``(type name, pk)`` of an ``ID`` argument; with ``types``, it must be one of them (a
    bare decimal id then needs exactly one). ``BAD_USER_INPUT`` for anything malformed."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadUserInput(f"invalid id {_show(value)}: an id is a string")
    text = str(value)
    if not text or len(text) > MAX_ID_LENGTH:
        raise BadUserInput(f"invalid id {_show(value)}: an id is a non-empty string of at most "
                           f"{MAX_ID_LENGTH} characters returned by this API")
    if text.isascii() and text.isdigit():
        if len(types) != 1:
            raise BadUserInput(f"invalid id {_show(value)}: pass the global id returned by this "
                               "API (a bare number does not say which type it names)")
        return types[0], _pk(text, value)
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True).decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raw = ""
    type_name, sep, pk = raw.partition(":")
    if not sep or not _TYPE_NAME.fullmatch(type_name):
        raise BadUserInput(f"invalid id {_show(value)}: an id is an opaque string returned by "
                           "this API")
    if types and type_name not in types:
        raise BadUserInput(f"invalid id {_show(value)}: it names a {type_name}, not a "
                           f"{_expected(types)}")
    return type_name, _pk(pk, value)


def decode_pk(value: str | int, type_name: str) -> int:
    """The pk of an ``ID`` argument naming a ``type_name`` (:func:`decode_id`)."""
    return decode_id(value, type_name)[1]
