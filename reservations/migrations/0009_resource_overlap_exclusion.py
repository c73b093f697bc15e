"""PostgreSQL refuses two overlapping active reservations of a one-at-a-time resource, buffers
included, and overlapping weekly hours of one resource (SQLite: the booking service's
serialised transaction and clean() hold the same rules).

The reservation constraint compares `resource_id` with `=` inside a GiST index, which needs the
btree_gist extension (created here if missing, and left in place when going back: it ships
with PostgreSQL's contrib package). Django's BtreeGistExtension operation is not used because
its reverse runs PostgreSQL queries on SQLite too.
"""

from django.db import migrations

RESERVATIONS = "ex_reservations_resource_overlap"
HOURS = "ex_staff_working_hours_no_overlap"

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    f"""ALTER TABLE reservations ADD CONSTRAINT {RESERVATIONS}
        EXCLUDE USING gist (
            resource_id WITH =,
            tstzrange(blocked_from, blocked_until, '[)') WITH &&
        ) WHERE (status = 'active' AND exclusive)""",
    f"""ALTER TABLE staff_working_hours ADD CONSTRAINT {HOURS}
        EXCLUDE USING gist (
            resource_id WITH =,
            (COALESCE(season_id, 0)) WITH =,
            day_of_week WITH =,
            int4range(
                EXTRACT(EPOCH FROM start_time)::int, EXTRACT(EPOCH FROM end_time)::int
            ) WITH &&
        )""",
]
DROP = [
    f"ALTER TABLE reservations DROP CONSTRAINT IF EXISTS {RESERVATIONS}",
    f"ALTER TABLE staff_working_hours DROP CONSTRAINT IF EXISTS {HOURS}",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("reservations", "0008_upgrade_to_one_clinic_resource")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
