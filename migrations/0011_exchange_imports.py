from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.jobs import RunStatus, Stage
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0010_security')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ExchangeImport',
            fields=[
                ('status', fields.CharEnumField(default=RunStatus.QUEUED, description='QUEUED: queued\nRUNNING: running\nSUCCEEDED: succeeded\nFAILED: failed\nCANCELLED: cancelled', enum_type=RunStatus, max_length=16)),
                ('stage', fields.CharEnumField(default=Stage.QUEUED, description='QUEUED: queued\nLOADING: loading\nCOMPUTING: computing\nSAVING: saving\nDONE: done', enum_type=Stage, max_length=16)),
                ('progress', fields.FloatField(default=0.0)),
                ('error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lease', fields.CharField(null=True, max_length=64)),
                ('heartbeat_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', db_constraint=True, to_field='id', related_name='exchange_imports', on_delete=OnDelete.CASCADE)),
                ('credential', fields.ForeignKeyField('models.ExchangeCredential', source_field='credential_id', null=True, db_constraint=True, to_field='id', related_name='imports', on_delete=OnDelete.SET_NULL)),
                ('exchange', fields.CharField(max_length=32)),
                ('symbols', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('start_ms', fields.BigIntField()),
                ('end_ms', fields.BigIntField()),
                ('name', fields.CharField(max_length=200)),
                ('n_fetched', fields.BigIntField(default=0)),
                ('cursor', fields.JSONField(default=dict, encoder=JSON_DUMPS, decoder=loads)),
                ('transaction_import_id', fields.IntField(null=True)),
            ],
            options={'table': 'exchange_imports', 'app': 'models', 'indexes': [Index(fields=['owner_id', 'created_at'])], 'pk_attr': 'id', 'table_description': "An import of a user's fills from an exchange (``tasks.jobs.kinds.exchange_import``)."},
            bases=['JobRow'],
        ),
    ]
