from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

async def results_uncompressed(apps, schema_editor):
    """PostgreSQL: keep a replay's packed results uncompressed (store.replay_results reads
    pages of them by byte range, and trying to compress float arrays only costs time)."""
    client = schema_editor.client
    if client.capabilities.dialect == "postgres":
        for column in ("curves", "fill_records", "trade_records"):
            await client.execute_script(
                f"ALTER TABLE replay_executions ALTER COLUMN {column} SET STORAGE EXTERNAL")


class Migration(migrations.Migration):
    dependencies = [('models', '0003_workers_leases')]

    initial = False

    operations = [
        ops.CreateModel(
            name='TransactionImport',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='transaction_imports', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('format', fields.CharField(max_length=32)),
                ('exchange', fields.CharField(max_length=32)),
                ('filename', fields.CharField(null=True, max_length=255)),
                ('n_rows', fields.IntField(default=0)),
                ('n_stored', fields.IntField(default=0)),
                ('n_duplicates', fields.IntField(default=0)),
                ('first_ts', fields.BigIntField(null=True)),
                ('last_ts', fields.BigIntField(null=True)),
                ('symbols', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'transaction_imports', 'app': 'models', 'indexes': [Index(fields=['owner_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A named batch of imported transactions: one file, stored all or nothing.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='attempts',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='backtest',
            field=fields.ForeignKeyField('models.Backtest', source_field='backtest_id', null=True, db_constraint=True, to_field='id', related_name='replays', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='curves',
            field=fields.BinaryField(null=True),
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='fill_records',
            field=fields.BinaryField(null=True),
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='heartbeat_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='initial_capital',
            field=fields.FloatField(default=10000.0),
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='lease',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='risk_free_rate',
            field=fields.FloatField(default=0.0),
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='source',
            field=fields.CharField(default='transactions', max_length=16),
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='trade_records',
            field=fields.BinaryField(null=True),
        ),
        ops.AddIndex(
            model_name='ReplayExecution',
            index=Index(fields=['owner_id', 'created_at']),
        ),
        # transaction_histories was created by 0001 but never written by any code: it is
        # recreated with its import batch, fingerprint and a unique key per symbol (SQLite
        # cannot drop the old table's inline UNIQUE constraint).
        ops.DeleteModel(name='TransactionRecord'),
        ops.CreateModel(
            name='TransactionRecord',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='transactions', on_delete=OnDelete.CASCADE)),
                ('batch_id', fields.IntField(null=True)),
                ('exchange', fields.CharField(max_length=32)),
                ('symbol', fields.CharField(null=True, max_length=32)),
                ('kind', fields.CharField(max_length=16)),
                ('side', fields.CharField(null=True, max_length=4)),
                ('ts', fields.BigIntField()),
                ('price', fields.FloatField(null=True)),
                ('quantity', fields.FloatField()),
                ('fee', fields.FloatField(default=0.0)),
                ('fee_asset', fields.CharField(null=True, max_length=16)),
                ('external_id', fields.CharField(null=True, max_length=64)),
                ('fingerprint', fields.CharField(null=True, max_length=32)),
                ('file_row', fields.IntField(default=0)),
                ('payload', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('imported_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'transaction_histories', 'app': 'models', 'unique_together': (('owner', 'exchange', 'symbol', 'external_id'),), 'indexes': [Index(fields=['owner_id', 'ts']), Index(fields=['owner_id', 'symbol', 'ts'])], 'pk_attr': 'id', 'table_description': "A user's real exchange transaction (fill, deposit, withdrawal, fee), kept for replay."},
            bases=['Model'],
        ),
        ops.RunPython(results_uncompressed, ops.RunPython.noop),
    ]
