from tortoise import migrations
from tortoise.migrations import operations as ops
from domain.jobs import Stage
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_replay_imports')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Backtest',
            name='stage',
            field=fields.CharEnumField(default=Stage.QUEUED, description='QUEUED: queued\nLOADING: loading\nCOMPUTING: computing\nSAVING: saving\nDONE: done', enum_type=Stage, max_length=16),
        ),
        ops.AddField(
            model_name='ReplayExecution',
            name='stage',
            field=fields.CharEnumField(default=Stage.QUEUED, description='QUEUED: queued\nLOADING: loading\nCOMPUTING: computing\nSAVING: saving\nDONE: done', enum_type=Stage, max_length=16),
        ),
        ops.AddField(
            model_name='SweepRun',
            name='stage',
            field=fields.CharEnumField(default=Stage.QUEUED, description='QUEUED: queued\nLOADING: loading\nCOMPUTING: computing\nSAVING: saving\nDONE: done', enum_type=Stage, max_length=16),
        ),
        ops.AddField(
            model_name='SyncJob',
            name='stage',
            field=fields.CharEnumField(default=Stage.QUEUED, description='QUEUED: queued\nLOADING: loading\nCOMPUTING: computing\nSAVING: saving\nDONE: done', enum_type=Stage, max_length=16),
        ),
    ]
