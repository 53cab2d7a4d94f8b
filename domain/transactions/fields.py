"""Field parsers shared by the trade-history importers: numbers, times, sides, symbols, headers.

Each parser takes the raw text of one field and returns the value, or raises ``ValueError``
whose message is meant for the user (the caller adds the row and the column). They are called
once per field of up to millions of rows: the common case is one C call (``float``,
``datetime.fromisoformat``, a dict lookup) and the slow paths run only for unusual input.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import repeat

from domain.transactions.model import RowProblem, Side, Transaction

QUOTE_ASSETS: tuple[str, ...] = (
    "USDT", "FDUSD", "USDC", "BUSD", "TUSD", "USDP", "USDS", "DAI", "USD",
    "BTC", "ETH", "BNB", "XRP", "TRX", "DOGE", "DOT", "SOL",
    "EUR", "EURI", "AEUR", "TRY", "BRL", "GBP", "AUD", "JPY", "RUB", "UAH", "NGN", "ZAR",
    "PLN", "RON", "ARS", "MXN", "COP", "CZK", "IDR", "IDRT", "BIDR", "BKRW", "BVND", "VAI",
)
"""Quote assets tried, longest first, to split an exchange id with no slash (``BNBBTC``)."""

_QUOTES_LONGEST_FIRST = tuple(sorted(QUOTE_ASSETS, key=len, reverse=True))
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
INF = float("inf")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_NAIVE = datetime(1970, 1, 1)
MS = timedelta(milliseconds=1)
SECONDS_BELOW = 10**11
"""Epoch integers below this (before March 1973 in milliseconds) are taken for seconds: refused."""
MICROS_ABOVE = 10**14
"""Epoch integers above this are microseconds (10^14 ms is the year 5138), floored to ms."""
GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")
"""A number with thousands separators (match it whole)."""
SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell", "BUY": "buy", "SELL": "sell"}
ISO_HINT = "expected ISO-8601 like 2024-01-05T13:45:12Z (no zone = UTC)"


def decode(data: bytes) -> str:
    """UTF-8 text (a byte-order mark is dropped); BadFile saying where it is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BadFile(f"not UTF-8 text ({err.reason} at byte {err.start}): save the file "
                      "as UTF-8 CSV") from None


CHUNK_BYTES = 1 << 20
"""Bytes decoded at a time by :func:`byte_records` (the file's text is never whole in memory)."""


def _text_chunks(data: bytes) -> Iterator[str]:
    """The UTF-8 text of ``data`` (a byte-order mark dropped), about :data:`CHUNK_BYTES` at a
    time; BadFile saying at which byte it is not UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    for at in range(3 if data.startswith(codecs.BOM_UTF8) else 0, len(data), CHUNK_BYTES):
        held = len(decoder.getstate()[0])  # the bytes of a character cut by the last chunk
        try:
            yield decoder.decode(view[at:at + CHUNK_BYTES], final=at + CHUNK_BYTES >= len(data))
        except UnicodeDecodeError as err:
            raise BadFile(f"not UTF-8 text ({err.reason} at byte {at - held + err.start}): "
                          "save the file as UTF-8 CSV") from None


def _lines(chunks: Iterator[str]) -> Iterator[str]:
    """The lines of the text in ``chunks`` without their ends (``\n``, ``\r\n`` or ``\r``),
    as ``csv_records`` splits them; no empty line after the last end."""
    pending = ""
    for chunk in chunks:
        text = pending + chunk
        carry = ""
        if text.endswith("\r"):  # maybe the half of a \r\n cut by the chunk
            text, carry = text[:-1], "\r"
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        parts = text.split("\n")
        pending = parts.pop() + carry
        yield from parts
    if pending:
        yield pending.removesuffix("\r")


def byte_records(data: bytes) -> Iterator[list[str]]:
    """The records of a UTF-8 CSV file, as :func:`csv_records` gives them, decoded and split a
    piece at a time: the whole text and the list of its lines never exist at once. A file
    that is not UTF-8 raises BadFile (when the reading gets there)."""
    lines = _lines(_text_chunks(data))
    if b'"' in data:
        return _quoted_records(line + "\n" for line in lines)
    return map(str.split, lines, repeat(","))


def csv_records(text: str) -> Iterator[list[str]]:
    """The records of CSV text, one per line: blank lines give ``[]`` or ``[""]``, so counting
    them keeps record numbers equal to line numbers (unless a quoted field spans lines).
    Text without any double quote is split directly, three times faster than ``csv``.
    What ``csv`` cannot read (a quoted field over its size limit, a stray NUL) raises BadFile."""
    if '"' in text:
        return _quoted_records(text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    return map(str.split, lines, repeat(","))


def _quoted_records(text: str | Iterator[str]) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(text, newline="") if isinstance(text, str) else text)
    try:
        yield from reader
    except csv.Error as err:
        raise BadFile(f"not readable as CSV at line {reader.line_num} ({err}): check its "
                      "quotes") from None


BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""Characters no symbol, asset or trade id holds: control characters (NUL included, which
PostgreSQL refuses in text) and lone surrogates (which JSON's ``\\ud800`` escapes can give and
no database encodes)."""


def brief(value: object, most: int = 40) -> str:
    """A value for a message, short whatever it is: a string's or number's ``repr`` cut to
    ``most`` characters, a JSON array or object named as such (it may be huge or deeply
    nested)."""
    if isinstance(value, list | tuple):
        return "a JSON array"
    if isinstance(value, dict):
        return "a JSON object"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 64:
        return f"a {len(str(abs(value)))}-digit number" if value.bit_length() < 14000 else \
            "a huge number"
    text = repr(value[: most + 1] if isinstance(value, str) else value)
    return text if len(text) <= most else text[: most - 3] + "..."


def number(s: str, grouped: bool = False) -> float:
    """A decimal number (``1234.5``, ``1e-8``); with ``grouped``, thousands separators are
    allowed too (``1,234.50``, as in Binance's exports)."""
    try:
        return float(s) if not (grouped and "," in s) else grouped_float(s)
    except ValueError:
        hint = "" if grouped else " (use '.' as the decimal point and no thousands separators)"
        raise ValueError(f"not a number: {brief(s)}{hint}") from None


def positive(s: str, grouped: bool = False) -> float:
    """A finite number > 0 (NaN fails too)."""
    x = number(s, grouped)
    if 0 < x < INF:
        return x
    raise ValueError(f"must be a finite number > 0, got {brief(s.strip())}")


def non_negative(s: str, grouped: bool = False) -> float:
    """A finite number >= 0."""
    x = number(s, grouped)
    if 0 <= x < INF:
        return x
    raise ValueError(f"must be a finite number >= 0, got {brief(s.strip())}")


def grouped_float(s: str) -> float:
    """``1,234.50``: every group after the first of exactly three digits (else ValueError)."""
    if not GROUPED.fullmatch(s):
        s = s.strip()
        if not GROUPED.fullmatch(s):
            raise ValueError(s)
    return float(s.replace(",", ""))


def iso_ms(s: str) -> int:
    """UTC milliseconds of an ISO-8601 date-time (naive = UTC; an offset is converted)."""
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        t = s.strip()
        if t == s or not t:
            raise ValueError(f"not a date: {brief(s)} ({ISO_HINT})") from None
        return iso_ms(t)
    return (dt - (EPOCH_NAIVE if dt.tzinfo is None else EPOCH)) // MS


def epoch_ms(n: int, s: str) -> int:
    """Epoch milliseconds (or microseconds, floored), refusing what looks like seconds."""
    if n < SECONDS_BELOW:
        raise ValueError(f"epoch time {brief(s.strip())} is too small for milliseconds: if it "
                         "is in seconds, multiply by 1000")
    if n > MICROS_ABOVE:
        if n > MICROS_ABOVE * 1000:
            raise ValueError(f"epoch time {brief(s.strip())} is too large (expected "
                             "milliseconds)")
        return n // 1000
    return n


def _decimal(s: str) -> int:
    """``int(s)`` of decimal digits; far too long a number is taken as one too large (``int``
    refuses more than 4,300 digits)."""
    return int(s) if len(s) <= 30 else 10**30


def time_ms(s: str) -> int:
    """ISO-8601 (naive = UTC) or epoch milliseconds (an integer)."""
    if s.isdecimal():
        return epoch_ms(_decimal(s), s)
    try:
        return iso_ms(s)
    except ValueError:
        t = s.strip()
        if t.isdecimal():
            return epoch_ms(_decimal(t), s)
        raise ValueError(f"not a date: {brief(s)} ({ISO_HINT}, or epoch milliseconds)") from None


def side(s: str) -> Side:
    """``buy`` or ``sell``, any case."""
    got = SIDES.get(s) or SIDES.get(s.strip().lower())
    if got is None:
        raise ValueError(f"must be buy or sell, got {brief(s)}")
    return got


def iso(ms: int) -> str:
    """``2024-01-05T13:45:12Z`` (with milliseconds when there are any), for messages."""
    text = (EPOCH + ms * MS).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00").removesuffix(".000") + "Z"


class Symbols:
    """Turns an exchange's symbol into the unified ``BASE/QUOTE``, remembering each answer.

    ``BTC/USDT`` is kept (upper-cased). An id with no slash (``BNBBTC``) is looked up in
    ``symbols`` (exchange id -> unified), then among ``known_symbols`` with the slash removed,
    then split at the longest quote asset of :data:`QUOTE_ASSETS` it ends with. When
    ``known_symbols`` is given, a symbol outside it is refused.
    """

    def __init__(self, symbols: Mapping[str, str] | None = None,
                 known_symbols: Collection[str] | None = None) -> None:
        self.known = frozenset(known_symbols) if known_symbols is not None else None
        self._ids: dict[str, str] = {}
        for unified in sorted(self.known or ()):
            if "/" in unified:
                self._ids.setdefault(unified.replace("/", "").upper(), unified)
        self._ids.update({k.strip().upper(): v for k, v in (symbols or {}).items()})
        self._cache: dict[str, tuple[str, str]] = {}
        self.resolved: dict[str, str] = {}
        """Each raw symbol met so far that resolved -> its unified form (for fast paths)."""

    def unified(self, raw: str) -> str:
        """The unified symbol, or ValueError saying why not."""
        hit = self._cache.get(raw)
        if hit is None:
            hit = self._cache[raw] = self._resolve(raw)
            if not hit[1]:
                self.resolved[raw] = hit[0]
        if hit[1]:
            raise ValueError(hit[1])
        return hit[0]

    def check_known(self, unified: str) -> None:
        if self.known is not None and unified not in self.known:
            raise ValueError(f"unknown symbol {unified}: not a market of the exchange")

    def _resolve(self, raw: str) -> tuple[str, str]:
        s = raw.strip().upper()
        if "/" in s:
            base, _, quote = (p.strip() for p in s.partition("/"))
            if not base or not quote or "/" in quote:
                return "", f"not a symbol: {brief(raw)} (expected BASE/QUOTE, like BTC/USDT)"
            unified = f"{base}/{quote}"
        elif s in self._ids:
            unified = self._ids[s]
        else:
            quote = next((q for q in _QUOTES_LONGEST_FIRST if s.endswith(q) and len(s) > len(q)),
                         "")
            if not s.isalnum() or not quote:
                return "", (f"cannot tell the base from the quote in {brief(raw)}: write it "
                            "as BASE/QUOTE (like BTC/USDT)")
            unified = f"{s[: -len(quote)]}/{quote}"
        try:
            self.check_known(unified)
        except ValueError as err:
            return "", str(err)
        return unified, ""


def locate(header: Sequence[str], required: Sequence[str], optional: Sequence[str],
           row: int, hint: str) -> tuple[dict[str, int], list[RowProblem]]:
    """Column index of each required and optional name found in ``header`` (names matched
    case-insensitively, surrounding spaces ignored), and the problems (on ``row``): a missing
    required column, a wanted column named twice. Other columns are ignored."""
    names = [h.strip().lower() for h in header]
    where: dict[str, int] = {}
    problems: list[RowProblem] = []
    for name in (*required, *optional):
        hits = [i for i, h in enumerate(names) if h == name.lower()]
        if len(hits) > 1:
            problems.append(RowProblem(row, name, f"the column appears {len(hits)} times in "
                                       "the header: keep one"))
        elif hits:
            where[name] = hits[0]
    missing = [n for n in required if n not in where and all(p.column != n for p in problems)]
    found = ",".join(h.strip() for h in header)
    problems.extend(RowProblem(row, n, f"missing column ({hint}; the header is: {found})")
                    for n in missing)
    return where, problems


def first_record(records: Iterator[Sequence[str]]) -> tuple[int, Sequence[str] | None]:
    """The 1-based number and the fields of the first non-blank record (the header), read
    from ``records``, which goes on with the next record."""
    for n, rec in enumerate(records, 1):
        if any(f.strip() for f in rec):
            return n, rec
    return 0, None


class Unusual(Exception):
    """Raised by an importer's fast path for a row it leaves to the careful slow path."""


class BadFile(Exception):
    """The file as a whole cannot be read (not UTF-8, not JSON, not an XLSX workbook), or
    reading stopped at ``row`` (0: the whole file) and ``column`` (a cap passed)."""

    def __init__(self, message: str, row: int = 0, column: str = "") -> None:
        super().__init__(message)
        self.row, self.column = row, column


@dataclass
class Parsed:
    """What a format's parser found, before the checks common to every format (order,
    duplicate trade ids, no transactions at all), with the file's own names for messages."""

    transactions: list[Transaction]
    problems: list[RowProblem]
    time_column: str
    id_column: str
    unit: str = "row"
    order_by_symbol: bool = False
    """Whether the dates must be sorted per symbol (a JSON body per symbol, concatenated)
    rather than across the whole file."""
    newest_first: bool = False
    """The direction taken when the dates do not tell (all equal): Binance's exports list the
    newest first."""
    symbol_column: str = "symbol"
    fee_asset_column: str = "fee_asset"
