"""``backtest cache stats|clear``: the Redis cache of candle ranges and finished results.

* ``cache stats [--json]``: hits and misses per kind (candles, results), counted by every
  process on the same Redis since the last ``clear``.
* ``cache clear``: drop every cached entry and reset the counts (the data is read from the
  database again on the next lookups).

Without ``REDIS_URL`` there is no cache: both say so and exit 0. An unreachable Redis is one
line on stderr and exit code 2 (``cli.main``).
"""

from __future__ import annotations

import argparse
import asyncio
import json

NO_CACHE = "no cache: REDIS_URL is not set (set it to cache candle ranges and results in Redis)"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``cache stats`` and ``cache clear`` to the ``backtest`` subcommands ``sub``."""
    cache = sub.add_parser("cache", help="the Redis cache of candles and results: stats, clear")
    csub = cache.add_subparsers(dest="cache_command", required=True, metavar="SUBCOMMAND")
    stats = csub.add_parser("stats", help="hits and misses per kind, every process together")
    stats.add_argument("--json", action="store_true", help="print the counts as JSON")
    stats.set_defaults(func=cmd_cache_stats)
    clear = csub.add_parser("clear", help="drop every cached entry and reset the counts")
    clear.set_defaults(func=cmd_cache_clear)


def cmd_cache_stats(args: argparse.Namespace) -> int:
    """Print the hit and miss counts per kind (a table, or JSON with ``--json``)."""
    from store.settings import get_settings  # lazy: `backtest run` never imports the cache
    from tasks.cache.candles import KINDS, open_cache

    async def read() -> tuple[bool, dict[str, int]]:
        async with open_cache(get_settings()) as cache:
            return cache.enabled, await cache.stats()

    enabled, stats = asyncio.run(read())
    counts = {kind: {"hits": stats.get(f"{kind}_hits", 0),
                     "misses": stats.get(f"{kind}_misses", 0)} for kind in KINDS}
    if getattr(args, "json", False):
        print(json.dumps({"enabled": enabled, **counts}, indent=2))
        return 0
    if not enabled:
        print(NO_CACHE)
        return 0
    rows = [["kind", "hits", "misses", "hit rate"]]
    for kind, c in counts.items():
        total = c["hits"] + c["misses"]
        rate = f"{100.0 * c['hits'] / total:.1f}%" if total else "-"
        rows.append([kind, f"{c['hits']:,}", f"{c['misses']:,}", rate])
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join([r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in (1, 2, 3)]))
    return 0


def cmd_cache_clear(args: argparse.Namespace) -> int:
    """Drop every cached entry, series version and count."""
    from store.settings import get_settings
    from tasks.cache.candles import open_cache

    async def clear() -> tuple[bool, int]:
        async with open_cache(get_settings()) as cache:
            return cache.enabled, await cache.clear()

    enabled, removed = asyncio.run(clear())
    print(f"cache cleared: {removed:,} keys removed" if enabled else NO_CACHE)
    return 0
