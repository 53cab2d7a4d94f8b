from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_candle_blocks')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CandleSeriesVersion',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('exchange', fields.CharField(max_length=32)),
                ('symbol', fields.CharField(max_length=32)),
                ('timeframe', fields.CharField(max_length=8)),
                ('version', fields.BigIntField(default=0)),
            ],
            options={'table': 'candle_series_versions', 'app': 'models', 'unique_together': (('exchange', 'symbol', 'timeframe'),), 'pk_attr': 'id', 'table_description': "A number that grows in the same transaction as any change to a series' candles (a write"},
            bases=['Model'],
        ),
    ]
