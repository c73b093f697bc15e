from django.db import migrations


def create_rules(apps, schema_editor):
    apps.get_model("reservations", "BookingRules").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("reservations", "0003_postgres_exclusion_constraints")]

    operations = [migrations.RunPython(create_rules, migrations.RunPython.noop)]
