from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_job_stage')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CandleBlock',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('exchange', fields.CharField(max_length=32)),
                ('symbol', fields.CharField(max_length=32)),
                ('timeframe', fields.CharField(max_length=8)),
                ('block', fields.BigIntField()),
                ('n', fields.IntField()),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'candle_blocks', 'app': 'models', 'unique_together': (('exchange', 'symbol', 'timeframe', 'block'),), 'pk_attr': 'id', 'table_description': 'The candles of one series over one fixed span of time, as columns in one blob.'},
            bases=['Model'],
        ),
    ]
