"""The worker heartbeat, moved here from the former `monitoring` app: same table, same columns."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0009_erased_message_ids'),
    ]

    operations = [
        migrations.CreateModel(
            name='Heartbeat',
            fields=[
                ('name', models.CharField(max_length=50, primary_key=True, serialize=False, verbose_name='name')),
                ('beat_at', models.DateTimeField(verbose_name='last beat')),
            ],
            options={
                'verbose_name': 'heartbeat',
                'verbose_name_plural': 'heartbeats',
                'db_table': 'monitoring_heartbeats',
            },
        ),
    ]
