from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

# A backtest's trades move from one row each in `trades` into one column of packed records on
# the backtest (`backtests.trade_records`), as a replay's already are: saving a year of minutes
# wrote ~7,000 rows with two indexes; now it writes one value (store.backtest_results). The
# record layout is domain.engine.records.TRADE_DTYPE, little-endian, written out here so the
# migration keeps meaning what it meant when the code changes.
_COLUMNS = ("entry_idx", "exit_idx", "entry_time", "exit_time", "entry_price", "exit_price",
            "quantity", "direction", "gross_pnl", "fees", "pnl", "trade_return", "exit_reason")
_FORMATS = ("<i8", "<i8", "<i8", "<i8", "<f8", "<f8", "<f8", "<i1", "<f8", "<f8", "<f8", "<f8",
            "<i1")


def _sql(postgres: bool, sql: str) -> str:
    if not postgres:
        return sql
    parts = sql.split("?")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


async def pack_trades(apps, schema_editor):
    """Each backtest's trade rows, in `seq` order, into its `trade_records` (on PostgreSQL,
    store.pg_extras.setup_results keeps the column uncompressed)."""
    import numpy as np

    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    dtype = np.dtype([("return" if c == "trade_return" else c, f)
                      for c, f in zip(_COLUMNS, _FORMATS, strict=True)])
    _, ids = await client.execute_query("SELECT DISTINCT backtest_id FROM trades")
    for row in ids:
        backtest_id = int(row["backtest_id"])
        _, rows = await client.execute_query(
            _sql(postgres, f"SELECT {', '.join(_COLUMNS)} FROM trades WHERE backtest_id = ? "
                           "ORDER BY seq"), [backtest_id])
        records = np.array([tuple(r[c] for c in _COLUMNS) for r in rows], dtype=dtype)
        await client.execute_query(
            _sql(postgres, "UPDATE backtests SET trade_records = ? WHERE id = ?"),
            [records.tobytes(), backtest_id])


class Migration(migrations.Migration):
    dependencies = [('models', '0007_candle_series_versions')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Backtest',
            name='trade_records',
            field=fields.BinaryField(null=True),
        ),
        ops.RunPython(pack_trades),
        ops.DeleteModel(name='Trade'),
    ]
