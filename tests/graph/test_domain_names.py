"""The API's names of domain things, made from the domain's, not copied: problem paths
(graph.types_common.api_path) and the Metric enum (domain.metrics.METRIC_NAMES)."""

from __future__ import annotations

import pytest

from domain.metrics import METRIC_NAMES
from domain.strategy.naming import NAME_MAX_LEN
from graph.types_common import ValidationError, api_path, camel_case
from store.strategies import NAME_MAX_LEN as STORED_NAME_LEN


@pytest.mark.parametrize(("domain", "api"), [
    ("initial_capital", "input.initialCapital"),
    ("rank_by", "input.rankBy"),
    ("fee_bps", "input.feeBps"),
    ("import_ids", "input.importIds"),
    ("strategy_id", "input.strategyId"),
    ("from", "input.from"),
    ("to", "input.to"),
    ("since", "input.since"),
    ("params", "input.params"),
    ("params.fast", "input.params.fast"),
    ("params.slow_ma", "input.params.slow_ma"),  # a user's name: as written
    ("grid.fast_len[2]", "input.grid.fast_len[2]"),
    ("document", "input.document"),
    ("document.costs.fee_bps", "input.document.costs.fee_bps"),
    ("document.entry.all[1].left.period", "input.document.entry.all[1].left.period"),
    ("", "input"),
])
def test_domain_paths_become_the_apis(domain: str, api: str) -> None:
    assert api_path(domain) == api


def test_validation_errors_from_domain_problems() -> None:
    error = ValidationError.of_domain([("initial_capital", "must be > 0"), ("params.my_p", "?")])
    assert [(p.path, p.message) for p in error.problems] == [
        ("input.initialCapital", "must be > 0"), ("input.params.my_p", "?")]
    assert api_path("delay_bars", root="replay") == "replay.delayBars"
    assert camel_case("max_drawdown_duration") == "maxDrawdownDuration"


def test_the_metric_enum_is_the_domains_metrics() -> None:
    from graph.sweeps import Metric

    assert [(m.name, m.value) for m in Metric] == [(n.upper(), n) for n in METRIC_NAMES]


def test_strategy_names_fit_their_column() -> None:
    assert NAME_MAX_LEN == STORED_NAME_LEN
