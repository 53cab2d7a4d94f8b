"""The JSON body of Binance's ``GET /api/v3/myTrades`` (one array per symbol; several arrays'
elements may be concatenated into one)::

    [{"symbol": "BNBBTC", "id": 28457, "orderId": 100234, "orderListId": -1,
      "price": "4.00000100", "qty": "12.00000000", "quoteQty": "48.000012",
      "commission": "10.10000000", "commissionAsset": "BNB", "time": 1499865549590,
      "isBuyer": true, "isMaker": false, "isBestMatch": true}]

Used: ``symbol`` (unified with :class:`~domain.transactions.fields.Symbols`), ``id`` (the
trade id, per symbol), ``price``, ``qty``, ``commission``, ``commissionAsset``, ``time`` (epoch
ms) and ``isBuyer`` (buy when true). Numbers may be JSON strings (as Binance sends them) or
numbers. Other keys are ignored. Problems name the 1-based item of the array and the key.
"""

from __future__ import annotations

import json
from typing import Any

from domain.transactions.fields import (
    BadFile,
    Parsed,
    Symbols,
    brief,
    epoch_ms,
    non_negative,
    positive,
)
from domain.transactions.model import RowProblem, Side, Transaction

KEYS = ("symbol", "id", "price", "qty", "commission", "commissionAsset", "time", "isBuyer")


def parse_binance_my_trades(data: bytes, symbols: Symbols) -> Parsed:
    try:
        doc = json.loads(data.removeprefix(b"\xef\xbb\xbf"))  # json refuses a UTF-8 BOM
    except (ValueError, UnicodeDecodeError) as err:
        raise BadFile(f"not JSON ({brief(str(err), 200)}): expected the body of GET "
                      "/api/v3/myTrades, an array of trades") from None
    except RecursionError:
        raise BadFile("JSON nested too deeply (arrays or objects hundreds of levels inside one "
                      "another): expected the body of GET /api/v3/myTrades, an array of trade "
                      "objects") from None
    if isinstance(doc, dict) and "msg" in doc:
        raise BadFile(f"a Binance error response, not trades: {brief(doc.get('msg'))} "
                      f"(code {doc.get('code')})")
    if not isinstance(doc, list):
        raise BadFile(f"a JSON {type(doc).__name__}, not an array: expected the body of "
                      "GET /api/v3/myTrades, an array of trades")
    out = Parsed([], [], "time", "id", unit="item", order_by_symbol=True,
                 fee_asset_column="commissionAsset")
    for n, item in enumerate(doc, 1):
        try:
            tx = _trade(n, item, symbols, out.problems)
        except RecursionError:  # a value nested just below json's own limit
            out.problems.append(RowProblem(n, "", "nested too deeply: not a trade object",
                                           unit="item"))
            continue
        if tx is not None:
            out.transactions.append(tx)
    return out


def _trade(n: int, item: Any, symbols: Symbols, problems: list[RowProblem]) -> Transaction | None:
    def bad(key: str, message: str) -> None:
        problems.append(RowProblem(n, key, message, unit="item"))

    if not isinstance(item, dict):
        bad("", f"a JSON {type(item).__name__}, not a trade object")
        return None
    before = len(problems)
    for key in KEYS:
        if key not in item:
            bad(key, "missing")
    if len(problems) > before:
        return None
    symbol = ""
    try:
        symbol = symbols.unified(_text(item["symbol"]))
    except ValueError as err:
        bad("symbol", str(err))
    trade_id = item["id"]
    if (isinstance(trade_id, bool) or not isinstance(trade_id, int | str) or trade_id == ""
            or (isinstance(trade_id, int) and trade_id.bit_length() > 64)):
        bad("id", f"not a trade id: {brief(trade_id)}")
    amounts: dict[str, float] = {}
    for key in ("price", "qty", "commission"):
        try:
            raw = _text(item[key])
            amounts[key] = (non_negative if key == "commission" else positive)(raw)
        except ValueError as err:
            bad(key, str(err))
    fee_asset = item["commissionAsset"]
    if not isinstance(fee_asset, str) or not fee_asset.strip():
        bad("commissionAsset", f"not an asset: {brief(fee_asset)}")
    t = item["time"]
    try:
        if isinstance(t, bool) or not isinstance(t, int):
            raise ValueError(f"not epoch milliseconds: {brief(t)}")
        t = epoch_ms(t, str(t))
    except ValueError as err:
        bad("time", str(err))
    is_buyer = item["isBuyer"]
    if not isinstance(is_buyer, bool):
        bad("isBuyer", f"must be true or false, got {brief(is_buyer)}")
    if len(problems) > before:
        return None
    sd: Side = "buy" if is_buyer else "sell"
    return Transaction(t, symbol, sd, amounts["price"], amounts["qty"], amounts["commission"],
                       fee_asset.strip().upper(), str(trade_id), n)


def _text(v: Any) -> str:
    """A JSON string, or a JSON number written back as text."""
    if isinstance(v, str):
        return v
    if isinstance(v, int | float) and not isinstance(v, bool):
        return repr(v)
    raise ValueError(f"expected a string or a number, got {brief(v)}")
