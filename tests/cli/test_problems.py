"""Problems of a request named by the command line's options (cli.problems)."""

from __future__ import annotations

from cli.problems import option, problems_message


def test_domain_paths_become_options() -> None:
    assert option("initial_capital") == "--capital"
    assert option("import_ids") == "--import"
    assert option("backtest_id") == "--backtest"
    assert option("fee_bps") == "--fee-bps"
    assert option("delay_bars") == "--delay"
    assert option("from") == "--from" and option("to") == "--to"
    assert option("params.fast") == "--param fast"
    assert option("grid.slow_ma") == "--grid slow_ma"
    assert option("strategy_id") == "strategy_id"  # no option sets it: shown as it is


def test_problems_in_one_line() -> None:
    assert problems_message([("fee_bps", "must be >= 0"), ("to", "must be after from")]) == (
        "--fee-bps: must be >= 0; --to: must be after from")
