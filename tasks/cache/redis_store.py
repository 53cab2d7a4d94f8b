"""The Redis implementation of ``tasks.cache.candles.Cache`` (see that module for what is cached,
how it is invalidated and what happens when Redis fails), and the binary format of candles.

Keys, all under :data:`PREFIX`: ``version:<exchange>:<symbol>:<tf>`` (a series' version, no
TTL), ``candles:<exchange>:<symbol>:<tf>:v<version>:<start>:<end>`` (``-`` for an open side;
``:`` and ``%`` in names percent-encoded), ``results:<kind>:<id>`` (a hash of parts), ``stats``
(a hash of ``<kind>_hits`` / ``<kind>_misses``). The ``redis`` package is imported only when a
:class:`RedisCache` is made.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from domain.candles import Candles
from domain.errors import DomainError
from domain.timeframes import parse_timeframe
from store.settings import redact_url

log = logging.getLogger("tasks.cache.candles")

PREFIX = "backtest:cache:"
CANDLES_TTL_S = 3600
RESULTS_TTL_S = 24 * 3600
MAX_CANDLES = 2_000_000
WARN_EVERY_S = 60.0
RETRY_AFTER_S = 5.0
KINDS = ("candles", "results")
STAT_NAMES = tuple(f"{kind}_{what}" for kind in KINDS for what in ("hits", "misses"))

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_MAGIC = int.from_bytes(b"BTCNDL01", "little")
_BYTES, _JSON = b"B", b"J"


class CacheUnavailable(DomainError):
    """Redis did not answer a ``stats`` or ``clear``; the message names the server."""


def encode_candles(c: Candles) -> bytes:
    """Magic, count, then ts (int64) and open..volume (float64), all little-endian words."""
    n = len(c)
    words = np.empty(2 + 6 * n, dtype="<i8")
    words[0], words[1] = _MAGIC, n
    words[2:2 + n] = c.ts
    floats = words[2 + n:].view("<f8")
    for i, column in enumerate((c.open, c.high, c.low, c.close, c.volume)):
        floats[i * n:(i + 1) * n] = column
    return words.tobytes()


def decode_candles(data: bytes, symbol: str, timeframe: str) -> Candles | None:
    """The candles of :func:`encode_candles` (writable arrays), or None when ``data`` is not
    such a value."""
    if len(data) < 16 or len(data) % 8:
        return None
    words = np.frombuffer(bytearray(data), dtype="<i8")  # a writable copy
    n = int(words[1])
    if int(words[0]) != _MAGIC or words.shape[0] != 2 + 6 * n:
        return None
    ts: I64 = words[2:2 + n].astype(np.int64, copy=False)
    f: F64 = words[2 + n:].view("<f8").astype(np.float64, copy=False)
    o, h, lo, c, v = (f[i * n:(i + 1) * n] for i in range(5))
    return Candles(ts, o, h, lo, c, v, symbol=symbol, timeframe=timeframe)


def _part(value: object) -> str:
    return "-" if value is None else str(value).replace("%", "%25").replace(":", "%3A")


class RedisCache:
    """The cache in Redis at ``url`` (see the module doc); ``close()`` it when done."""

    enabled = True

    def __init__(self, url: str, *, candles_ttl_s: int = CANDLES_TTL_S,
                 results_ttl_s: int = RESULTS_TTL_S, max_candles: int = MAX_CANDLES,
                 prefix: str = PREFIX) -> None:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError

        self.url = url
        self.candles_ttl_s, self.results_ttl_s = candles_ttl_s, results_ttl_s
        self.max_candles, self.prefix = max_candles, prefix
        # no retries: an unreachable server is a miss at once, not after a backoff
        self._redis = aioredis.Redis.from_url(url, socket_connect_timeout=1.0,
                                              socket_timeout=10.0, retry=Retry(NoBackoff(), 0))
        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
        self._skip_until = 0.0
        self._warned_at: float | None = None

    def _failed(self, err: BaseException, what: str) -> None:
        now = time.monotonic()
        self._skip_until = now + RETRY_AFTER_S
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_S:
            self._warned_at = now
            log.warning("the cache at %s failed (%s while %s: %s); reading from the database "
                        "meanwhile", redact_url(self.url), type(err).__name__, what, err)

    def _usable(self) -> bool:
        return time.monotonic() >= self._skip_until

    def _series(self, exchange: str, symbol: str, timeframe: str) -> str:
        return ":".join(_part(p) for p in (exchange, symbol, parse_timeframe(timeframe)))

    def _version_key(self, exchange: str, symbol: str, timeframe: str) -> str:
        return f"{self.prefix}version:{self._series(exchange, symbol, timeframe)}"

    def _candles_key(self, series: str, version: int, start_ms: int | None,
                     end_ms: int | None) -> str:
        return f"{self.prefix}candles:{series}:v{version}:{_part(start_ms)}:{_part(end_ms)}"

    def _results_key(self, kind: str, ident: int) -> str:
        return f"{self.prefix}results:{_part(kind)}:{int(ident)}"

    async def _count(self, kind: str, hit: bool) -> None:
        try:
            await self._redis.hincrby(self.prefix + "stats",
                                      f"{kind}_{'hits' if hit else 'misses'}", 1)
        except self._errors as err:
            self._failed(err, "counting")

    async def count_hit(self, kind: str) -> None:
        if self._usable():
            await self._count(kind, True)

    async def _bump(self, key: str, increment: int) -> int:
        """The counter at ``key`` plus ``increment``, starting at the time in µs if missing."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, time.time_ns() // 1000, nx=True)
            pipe.incrby(key, increment)
            return int((await pipe.execute())[1])

    async def series_version(self, exchange: str, symbol: str, timeframe: str) -> int | None:
        if not self._usable():
            return None
        try:
            return await self._bump(self._version_key(exchange, symbol, timeframe), 0)
        except self._errors as err:
            self._failed(err, "reading a series version")
            return None

    async def get_candles(self, exchange: str, symbol: str, timeframe: str,
                          start_ms: int | None, end_ms: int | None, *,
                          version: int | None = None) -> Candles | None:
        if version is None:
            version = await self.series_version(exchange, symbol, timeframe)
        if version is None or not self._usable():
            return None
        key = self._candles_key(self._series(exchange, symbol, timeframe), version, start_ms,
                                end_ms)
        try:
            data = await self._redis.get(key)
        except self._errors as err:
            self._failed(err, "reading candles")
            return None
        found = (decode_candles(data, symbol, parse_timeframe(timeframe))
                 if isinstance(data, bytes) else None)
        await self._count("candles", found is not None)
        return found

    async def put_candles(self, exchange: str, symbol: str, timeframe: str,
                          start_ms: int | None, end_ms: int | None, candles: Candles, *,
                          version: int | None = None) -> bool:
        if not 0 < len(candles) <= self.max_candles:
            return False
        if version is None:
            version = await self.series_version(exchange, symbol, timeframe)
        if version is None or not self._usable():
            return False
        key = self._candles_key(self._series(exchange, symbol, timeframe), version, start_ms,
                                end_ms)
        try:
            await self._redis.set(key, encode_candles(candles), ex=self.candles_ttl_s)
        except self._errors as err:
            self._failed(err, "storing candles")
            return False
        return True

    async def invalidate_series(self, exchange: str, symbol: str, timeframe: str) -> None:
        try:
            await self._bump(self._version_key(exchange, symbol, timeframe), 1)
        except self._errors as err:
            self._failed(err, f"invalidating {exchange} {symbol} {timeframe} (its cached ranges "
                              f"may be served until they expire, within {self.candles_ttl_s} s)")

    async def get_result(self, kind: str, ident: int, part: str) -> Any:
        if not self._usable():
            return None
        try:
            data = await self._redis.hget(self._results_key(kind, ident), part)
        except self._errors as err:
            self._failed(err, "reading a result")
            return None
        found: Any = None
        if isinstance(data, bytes) and data[:1] == _BYTES:
            found = data[1:]
        elif isinstance(data, bytes) and data[:1] == _JSON:
            try:
                found = orjson.loads(data[1:])
            except orjson.JSONDecodeError:  # not ours: a miss
                found = None
        await self._count("results", found is not None)
        return found

    async def put_result(self, kind: str, ident: int, part: str, payload: Any) -> bool:
        if payload is None or not self._usable():
            return False
        if isinstance(payload, (bytes, bytearray, memoryview)):
            data = _BYTES + bytes(payload)
        else:
            try:
                data = _JSON + orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
            except TypeError as err:
                log.warning("%s %s %s is not cacheable: %s", kind, ident, part, err)
                return False
        key = self._results_key(kind, ident)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, part, data)
                pipe.expire(key, self.results_ttl_s)
                await pipe.execute()
        except self._errors as err:
            self._failed(err, "storing a result")
            return False
        return True

    async def drop_results(self, kind: str, ident: int) -> None:
        try:
            await self._redis.delete(self._results_key(kind, ident))
        except self._errors as err:
            self._failed(err, f"dropping the results of {kind} {ident}")

    async def stats(self) -> dict[str, int]:
        try:
            raw = await self._redis.hgetall(self.prefix + "stats")
        except self._errors as err:
            raise self._unavailable(err) from err
        counts = {k.decode() if isinstance(k, bytes) else str(k): int(v) for k, v in raw.items()}
        return {name: counts.get(name, 0) for name in STAT_NAMES}

    async def clear(self) -> int:
        removed = 0
        try:
            batch: list[Any] = []
            async for key in self._redis.scan_iter(match=self.prefix + "*", count=1000):
                batch.append(key)
                if len(batch) >= 500:
                    removed += int(await self._redis.unlink(*batch))
                    batch = []
            if batch:
                removed += int(await self._redis.unlink(*batch))
        except self._errors as err:
            raise self._unavailable(err) from err
        return removed

    def _unavailable(self, err: BaseException) -> CacheUnavailable:
        return CacheUnavailable(f"the cache's Redis at {redact_url(self.url)} did not answer "
                                f"({type(err).__name__}: {err}): check REDIS_URL and the server")

    async def close(self) -> None:
        """Release the connections (never raises)."""
        try:
            await self._redis.aclose()
        except self._errors as err:
            log.debug("closing the cache's Redis connections: %s", err)

