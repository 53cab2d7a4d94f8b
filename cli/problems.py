"""Problems of a request as the command line names them.

The layers below locate a problem by its domain path (``tasks.jobs.submit``,
``tasks.jobs.replay_submit``, ``tasks.jobs.sync_submit``): the snake_case field of the request
(``initial_capital``), then what is inside it (``params.fast``). :data:`OPTIONS` is the one
table from a field to the option that sets it; :func:`option` reads it.
"""

from __future__ import annotations

from collections.abc import Iterable

OPTIONS: dict[str, str] = {
    "symbol": "--symbol", "timeframe": "--timeframe", "exchange": "--exchange",
    "from": "--from", "to": "--to", "since": "--since", "until": "--until",
    "backtest_id": "--backtest", "import_ids": "--import", "initial_capital": "--capital",
    "fill": "--fill", "fee_bps": "--fee-bps", "slippage_bps": "--slippage-bps",
    "delay_bars": "--delay", "risk_free_rate": "--risk-free", "rank_by": "--rank-by",
}
"""Field of a request -> the option that sets it."""
_REPEATED = {"params": "--param", "grid": "--grid"}  # NAME=... options, one per parameter


def option(path: str) -> str:
    """The option of a domain path: ``initial_capital`` -> ``--capital``, ``params.fast`` ->
    ``--param fast``; a path no option sets is shown as it is."""
    field, _, rest = path.partition(".")
    if field in _REPEATED and rest:
        return f"{_REPEATED[field]} {rest}"
    return OPTIONS.get(path, path)


def problems_message(problems: Iterable[tuple[str, str]]) -> str:
    """``(domain path, message)`` pairs as one line: ``--capital: must be ...; --to: ...``."""
    return "; ".join(f"{option(path)}: {message}" for path, message in problems)
