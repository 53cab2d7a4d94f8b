"""Hypothesis strategies of GraphQL literals for the API's own scalars, shared by the
schemathesis hooks (``tests/fuzz/hooks.py``) and the subscription fuzz:

- ``JSON``: any JSON value, nested, with extreme numbers and hostile strings;
- ``DateTime``: mostly instants of the stored market (half the time), else any instant, an
  extreme of the calendar or arbitrary text;
- ``Upload``: ``null`` or a string (a file only travels in a multipart request, which
  schemathesis does not build; ``tests/graph/test_fuzz.py`` fuzzes real uploads).
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import NameNode, ObjectFieldNode, ValueNode
from hypothesis import strategies as st
from hypothesis_graphql import nodes

HOSTILE_TEXT = ["", " ", "\x00", "²", "١٢٣", "7" * 5_000, "9223372036854775808", "-1",
                "1e309", "NaN", "Infinity", "'; DROP TABLE users; --", "../../etc/passwd",
                "$fast", "{}", "[]"]
EXTREME_INTS = [0, -1, 2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**30]
EXTREME_FLOATS = ["1e308", "-1e308", "5e-324", "-0.0", "1e400"]
JSON_KEYS = ["name", "period", "fast", "slow", "start", "stop", "step", "value", "range",
             "entry", "exit", "left", "right", "op", "indicator", "parameters", "risk"]
CALENDAR_EXTREMES = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1970-01-01T00:00:00Z",
                     "+275760-09-13T00:00:00Z", "2024-01-01T00:00:00+99:00",
                     "2024-13-45T99:99:99Z", "2024-01-01", "-1"]


def text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40))


def json_nodes() -> st.SearchStrategy[ValueNode]:
    leaves = st.one_of(
        st.just(nodes.Null), st.booleans().map(nodes.Boolean),
        st.one_of(st.sampled_from(EXTREME_INTS), st.integers()).map(nodes.Int),
        st.one_of(st.sampled_from(EXTREME_FLOATS),
                  st.floats(allow_nan=False, allow_infinity=False).map(repr)).map(nodes.Float),
        text().map(nodes.String))

    def containers(children: st.SearchStrategy[ValueNode]) -> st.SearchStrategy[ValueNode]:
        keys = st.one_of(st.sampled_from(JSON_KEYS),
                         st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,15}", fullmatch=True))
        fields = st.dictionaries(keys, children, max_size=6).map(
            lambda d: [ObjectFieldNode(name=NameNode(value=k), value=v) for k, v in d.items()])
        return st.one_of(st.lists(children, max_size=6).map(nodes.List),
                         fields.map(nodes.Object))

    return st.recursive(leaves, containers, max_leaves=30)


def datetime_nodes(stored: Sequence[str]) -> st.SearchStrategy[ValueNode]:
    near = st.sampled_from(list(stored) or ["2024-01-01T00:00:00Z"])
    valid = st.datetimes().map(lambda d: d.isoformat() + "Z")
    extremes = st.sampled_from(CALENDAR_EXTREMES)
    # one_of draws its branches evenly: the stored instants come up half the time
    return st.one_of(near, near, near, valid, extremes, text()).map(nodes.String)


def upload_nodes() -> st.SearchStrategy[ValueNode]:
    return st.one_of(st.just(nodes.Null), text().map(nodes.String))


def custom_scalars(stored_instants: Sequence[str]) -> dict[str, st.SearchStrategy[ValueNode]]:
    """Strategies by scalar name (hypothesis-graphql's ``custom_scalars``)."""
    return {"JSON": json_nodes(), "DateTime": datetime_nodes(stored_instants),
            "Upload": upload_nodes()}
