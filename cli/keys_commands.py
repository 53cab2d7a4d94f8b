"""``backtest keys ...``: the master key that encrypts the stored exchange API keys.

* ``keys rotate [--generate] [--batch N] [--no-progress]``: re-wrap every stored key's data
  key under the current master key (``store.key_vault``), reading each with whichever known key
  wrapped it. Each record is its own conditional update, in batches of ``--batch`` (default
  100), so the API keeps serving meanwhile (it reads with any known key); running it again
  does nothing more. With ``--generate`` a new key is first made the current one of the key
  file (``MASTER_KEY_FILE``, or the generated ``<DATA_DIR>/master_key``), the older ones kept
  after it for reading. With ``MASTER_KEY`` set, put the new key there and the old one in
  ``MASTER_KEYS_OLD`` (on every process) before running it; remove the old one afterwards.
  Running API processes and workers read every key wrapped under the new key at once (they
  read the key file again when they meet a key id they do not know); they seal keys added
  meanwhile under the key they started with until restarted, so restart them, then run
  ``keys rotate`` once more before dropping the old key.
* ``keys status``: the current master key's id, and how many keys still need re-wrapping.

Key ids are shown, keys never.
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from cli.db_commands import with_db
from cli.errors import UsageError
from cli.lazy import lazy_command
from store import exchange_keys
from store.db import active_settings
from store.key_vault import KeyVault, add_key_to_file, key_file_path, new_key_text

DEFAULT_BATCH = 100


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``keys rotate`` and ``keys status`` to the ``backtest`` subcommands ``sub``."""
    keys = sub.add_parser("keys", help="the master key of the stored exchange keys: rotate, "
                                       "status")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="SUBCOMMAND")
    rotate = ksub.add_parser("rotate", help="re-wrap every stored exchange key under the "
                                            "current master key (online, idempotent)")
    rotate.add_argument("--generate", action="store_true",
                        help="first make a new random key the current one of the key file")
    rotate.add_argument("--batch", type=int, default=DEFAULT_BATCH, metavar="N",
                        help=f"records read per batch (default {DEFAULT_BATCH})")
    rotate.add_argument("--no-progress", action="store_true", help="never show a progress bar")
    rotate.set_defaults(func=lazy_command("cli.keys_commands:cmd_keys_rotate"))
    status = ksub.add_parser("status", help="the current master key's id and the keys still "
                                            "under an older one")
    status.set_defaults(func=lazy_command("cli.keys_commands:cmd_keys_status"))


async def _rotate(batch: int, quiet: bool) -> tuple[str, int, int]:
    vault = KeyVault.from_settings(active_settings())
    total = await exchange_keys.count_not_current(vault)
    bar = tqdm(total=total, unit="key", file=sys.stderr, leave=False, dynamic_ncols=True,
               disable=quiet or total == 0)
    done = seen = 0
    after = 0
    try:
        while True:
            changed, looked, last = await exchange_keys.rewrap_batch(vault, after, batch)
            if last is None:
                break
            done, seen, after = done + changed, seen + looked, last
            bar.update(looked)
    finally:
        bar.close()
    return vault.current_id, done, seen


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Re-wrap every key under the current master key (see the module docstring)."""
    if args.batch < 1:
        raise UsageError("--batch: give a number of records >= 1")
    if args.generate:
        from store.settings import get_settings

        path = key_file_path(get_settings())
        if path is None:
            raise UsageError("--generate: the master key comes from MASTER_KEY; put the new "
                             "key there and the old one in MASTER_KEYS_OLD instead")
        if not path.exists():
            KeyVault.from_settings(get_settings())  # the default file, made as on first use
        new = add_key_to_file(path, new_key_text())
        print(f"new master key {new.id} is now the current one of {path} (the older keys "
              "stay after it, for reading)")
    quiet = args.no_progress or not sys.stderr.isatty()
    current, done, seen = with_db(lambda: _rotate(args.batch, quiet))
    print(f"re-wrapped {done} key(s) under master key {current}"
          + (f" ({seen - done} changed meanwhile: run it again)" if seen > done else ""))
    return 0


def cmd_keys_status(args: argparse.Namespace) -> int:
    """Print the current master key's id and how many keys are under an older one."""
    async def status() -> tuple[str, int]:
        vault = KeyVault.from_settings(active_settings())
        return vault.current_id, await exchange_keys.count_not_current(vault)

    current, left = with_db(status)
    print(f"current master key: {current}; keys under an older master key: {left}")
    return 0
