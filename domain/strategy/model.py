"""The parsed form of a strategy document: frozen dataclasses built by ``parse_strategy``.

Numbers that may be ``"$parameter"`` references are ``Value`` (a ``float`` or a ``ParamRef``);
``domain.strategy.params`` resolves them for one parameter set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.strategy.kinds import Num


@dataclass(frozen=True)
class ParamRef:
    """A reference to the parameter ``name`` (written ``"$name"``)."""

    name: str

    def __str__(self) -> str:
        return f"${self.name}"


Value = float | ParamRef
"""A number, or a parameter whose value is chosen per run."""


@dataclass(frozen=True)
class Parameter:
    """A named number. ``value`` is used by a single backtest; ``range`` (start, stop, step) or
    ``values`` list what a sweep tries (``sweep_values``). ``integer`` is true when the parameter
    is used where an integer is needed (a period, ``bars_ago``)."""

    name: str
    value: float
    range: tuple[float, float, float] | None = None
    values: tuple[float, ...] | None = None
    integer: bool = False

    def sweep_values(self) -> tuple[float, ...]:
        """The values a sweep tries: the range's or the list's, else just ``value``."""
        if self.range is not None:
            return range_values(*self.range)
        if self.values is not None:
            return self.values
        return (self.value,)


def range_count(start: float, stop: float, step: float) -> int:
    """How many values ``start, start + step, ... <= stop`` holds (``step > 0``, ``start <=
    stop``); a last value within 1e-9 steps of ``stop`` counts (so 0.1 steps land on 1.0)."""
    return int((stop - start) / step + 1e-9) + 1


def range_values(start: float, stop: float, step: float) -> tuple[float, ...]:
    """``start + k * step`` for ``k = 0, 1, ...`` while it is ``<= stop`` (see ``range_count``).

    Integers stay ``int`` when ``start`` and ``step`` are integers; other values are rounded to
    12 decimals so ``0.1`` steps give ``0.3``, not ``0.30000000000000004``.
    """
    count = range_count(start, stop, step)
    if float(start).is_integer() and float(step).is_integer():
        a, s = int(start), int(step)
        return tuple(a + k * s for k in range(count))
    return tuple(round(start + k * step, 12) for k in range(count))


@dataclass(frozen=True)
class Const:
    """A constant operand (a number or a parameter)."""

    value: Value


@dataclass(frozen=True)
class Price:
    """A price series of the candles (``open`` ... ``ohlc4``), ``bars_ago`` bars back."""

    field: str
    bars_ago: Value = 0


@dataclass(frozen=True)
class Indicator:
    """An indicator's output series. ``params`` holds every parameter of the indicator in the
    registry's order (defaults filled in), each a number, a ``ParamRef`` or a source name."""

    name: str
    params: tuple[tuple[str, Value | str], ...]
    output: str
    bars_ago: Value = 0


Operand = Const | Price | Indicator


@dataclass(frozen=True)
class Compare:
    """``left OP right`` with OP one of ``>``, ``<``, ``>=``, ``<=``, ``crosses_above``,
    ``crosses_below``."""

    left: Operand
    op: str
    right: Operand


@dataclass(frozen=True)
class All:
    """True where every child is true."""

    children: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    """True where at least one child is true."""

    children: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    """True where the child is false (including where it is false because of NaN)."""

    child: Condition


Condition = All | AnyOf | Not | Compare


@dataclass(frozen=True)
class Risk:
    """Stops and target in percent (``None``: not used) and the position sizing."""

    stop_loss_pct: Value | None = None
    take_profit_pct: Value | None = None
    trailing_stop_pct: Value | None = None
    sizing_mode: str = "fraction_of_equity"
    sizing_value: Value = 1.0


@dataclass(frozen=True)
class Costs:
    """Fee and slippage in basis points."""

    fee_bps: Value = 10.0
    slippage_bps: Value = 0.0


@dataclass(frozen=True)
class Use:
    """Where a parameter is used (``path``) and the rule its value must follow there
    (``suffix`` ends the message, e.g. `` for fraction_of_equity``)."""

    path: str
    rule: Num
    suffix: str = ""


@dataclass(frozen=True)
class Strategy:
    """A valid strategy document, parsed.

    ``document`` is the normalized document (JSON-serializable): every default filled in,
    operands in their object form (``{"value": 30}``, ``{"price": "close", "bars_ago": 0}``,
    indicators with every parameter, ``output`` and ``bars_ago``), parameters in their object
    form. Parsing it again gives an equal strategy. ``uses`` maps each parameter to the places it
    is used and the rule its values must follow there.
    """

    name: str
    description: str
    side: str
    parameters: dict[str, Parameter]
    entry: Condition
    exit: Condition | None
    risk: Risk
    costs: Costs
    initial_capital: float
    document: dict[str, Any] = field(repr=False)
    uses: dict[str, tuple[Use, ...]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def direction(self) -> int:
        """``+1`` for long, ``-1`` for short."""
        return 1 if self.side == "long" else -1
