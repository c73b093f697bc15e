"""PostgreSQL-only invariants that SQLite cannot express: seasons never overlap, and one
schedule's opening intervals never overlap on a weekday (clean() checks both everywhere).

The interval constraint maps (schedule, weekday, time) onto one number line of seconds, so a
plain GiST range exclusion works without the btree_gist extension.
"""

from django.db import migrations

SEASONS = "ex_weekly_schedules_no_overlap"
INTERVALS = "ex_opening_intervals_no_overlap"

CREATE = [
    f"""ALTER TABLE weekly_schedules ADD CONSTRAINT {SEASONS}
        EXCLUDE USING gist (daterange(start_date, end_date, '[]') WITH &&)
        WHERE (NOT is_normal_week)""",
    f"""ALTER TABLE opening_intervals ADD CONSTRAINT {INTERVALS}
        EXCLUDE USING gist (int8range(
            schedule_id::bigint * 604800 + weekday * 86400 + EXTRACT(EPOCH FROM opens)::bigint,
            schedule_id::bigint * 604800 + weekday * 86400 + EXTRACT(EPOCH FROM closes)::bigint
        ) WITH &&)""",
]
DROP = [
    f"ALTER TABLE weekly_schedules DROP CONSTRAINT IF EXISTS {SEASONS}",
    f"ALTER TABLE opening_intervals DROP CONSTRAINT IF EXISTS {INTERVALS}",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("reservations", "0002_booking_rules_and_schedules")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
