from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from enum import StrEnum

from store.models import RunStatus, TokenScope

from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index


class Role(StrEnum):
    """The roles as this migration made them (0010_security replaces them)."""

    USER = "user"
    ADMIN = "admin"


class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccessToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='access_tokens', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('scope', fields.CharEnumField(default=TokenScope.READ, description='READ: read\nREAD_WRITE: read_write', enum_type=TokenScope, max_length=16)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('prefix', fields.CharField(max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'access_tokens', 'app': 'models', 'indexes': [Index(fields=['owner_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A personal access token for third-party integrations, stored only as its SHA-256 hash.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SweepRun',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='sweeps', on_delete=OnDelete.CASCADE)),
                ('strategy', fields.ForeignKeyField('models.Strategy', source_field='strategy_id', null=True, db_constraint=True, to_field='id', related_name='sweeps', on_delete=OnDelete.SET_NULL)),
                ('strategy_snapshot', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('grid', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('rank_by', fields.CharField(default='sharpe', max_length=32)),
                ('exchange', fields.CharField(max_length=32)),
                ('symbol', fields.CharField(max_length=32)),
                ('timeframe', fields.CharField(max_length=8)),
                ('range_start_ms', fields.BigIntField()),
                ('range_end_ms', fields.BigIntField()),
                ('n_combinations', fields.IntField(default=0)),
                ('status', fields.CharEnumField(default=RunStatus.QUEUED, description='QUEUED: queued\nRUNNING: running\nSUCCEEDED: succeeded\nFAILED: failed\nCANCELLED: cancelled', enum_type=RunStatus, max_length=16)),
                ('progress', fields.FloatField(default=0.0)),
                ('result', fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads)),
                ('error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sweep_runs', 'app': 'models', 'indexes': [Index(fields=['owner_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A parameter sweep run as one job: the grid, the market range, and the ranked table.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SyncJob',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='sync_jobs', on_delete=OnDelete.CASCADE)),
                ('exchange', fields.CharField(max_length=32)),
                ('symbol', fields.CharField(max_length=32)),
                ('timeframe', fields.CharField(max_length=8)),
                ('since_ms', fields.BigIntField()),
                ('until_ms', fields.BigIntField(null=True)),
                ('status', fields.CharEnumField(default=RunStatus.QUEUED, description='QUEUED: queued\nRUNNING: running\nSUCCEEDED: succeeded\nFAILED: failed\nCANCELLED: cancelled', enum_type=RunStatus, max_length=16)),
                ('progress', fields.FloatField(default=0.0)),
                ('stored', fields.BigIntField(default=0)),
                ('error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'sync_jobs', 'app': 'models', 'indexes': [Index(fields=['owner_id', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A market data sync started through the API: what to fetch, how far it got, how it ended.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Backtest',
            name='equity_curve',
            field=fields.BinaryField(null=True),
        ),
        ops.AddField(
            model_name='Backtest',
            name='risk_free_rate',
            field=fields.FloatField(default=0.0),
        ),
        ops.AddIndex(
            model_name='Backtest',
            index=Index(fields=['owner_id', 'status']),
        ),
        ops.AddField(
            model_name='User',
            name='role',
            field=fields.CharEnumField(default=Role.USER, description='USER: user\nADMIN: admin', enum_type=Role, max_length=16),
        ),
    ]
