from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_accounts_sweeps_sync')]

    initial = False

    operations = [
        ops.CreateModel(
            name='SweepChunk',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('sweep', fields.ForeignKeyField('models.SweepRun', source_field='sweep_id', db_constraint=True, to_field='id', related_name='chunks', on_delete=OnDelete.CASCADE)),
                ('chunk_index', fields.IntField()),
                ('rows', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'sweep_chunks', 'app': 'models', 'unique_together': (('sweep_id', 'chunk_index'),), 'pk_attr': 'id', 'table_description': 'The best rows of one chunk of a sweep run on Celery workers, kept until the last chunk'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Backtest',
            name='attempts',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='Backtest',
            name='heartbeat_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Backtest',
            name='lease',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='SweepRun',
            name='attempts',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='SweepRun',
            name='heartbeat_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='SweepRun',
            name='lease',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='SyncJob',
            name='attempts',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='SyncJob',
            name='heartbeat_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='SyncJob',
            name='lease',
            field=fields.CharField(null=True, max_length=64),
        ),
    ]
