"""A vacation can be deleted once customers were told of it: its notices and notifications keep
the vacation's dates and lose only the link (SET_NULL instead of CASCADE into read-only logs)."""

import django.db.models.deletion
from django.db import migrations, models


def copy_vacation_dates(apps, schema_editor):
    for name in ("VacationNotice", "VacationNotification"):
        model = apps.get_model("messaging", name)
        for row in model.objects.select_related("vacation").iterator():
            row.vacation_start = row.vacation.start_date
            row.vacation_end = row.vacation.end_date
            row.save(update_fields=["vacation_start", "vacation_end"])


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_task_wakeups"),
        ("reservations", "0006_staff_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="vacationnotice",
            name="vacation_start",
            field=models.DateField(null=True, verbose_name="vacation's first day"),
        ),
        migrations.AddField(
            model_name="vacationnotice",
            name="vacation_end",
            field=models.DateField(blank=True, null=True, verbose_name="vacation's last day"),
        ),
        migrations.AddField(
            model_name="vacationnotification",
            name="vacation_start",
            field=models.DateField(null=True, verbose_name="vacation's first day"),
        ),
        migrations.AddField(
            model_name="vacationnotification",
            name="vacation_end",
            field=models.DateField(blank=True, null=True, verbose_name="vacation's last day"),
        ),
        migrations.RunPython(copy_vacation_dates, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="vacationnotice",
            name="vacation_start",
            field=models.DateField(verbose_name="vacation's first day"),
        ),
        migrations.AlterField(
            model_name="vacationnotification",
            name="vacation_start",
            field=models.DateField(verbose_name="vacation's first day"),
        ),
        migrations.AlterField(
            model_name="vacationnotice",
            name="vacation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="reservations.vacationperiod",
                verbose_name="vacation",
            ),
        ),
        migrations.AlterField(
            model_name="vacationnotification",
            name="vacation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="reservations.vacationperiod",
                verbose_name="vacation",
            ),
        ),
    ]
