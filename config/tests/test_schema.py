"""The database carries the schema of shared/docs/schema.md, name for name, and enforces it."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

EXPECTED = {
    "customers": {
        "columns": {"wa_id", "customer_name", "age", "age_recorded_at", "document"},
        "indexes": {"idx_customers_wa_id"},
        "constraints": set(),
    },
    "conversation": {
        "columns": {"id", "wa_id", "role", "message", "date", "time"},
        "indexes": {"idx_conversation_wa_id", "idx_conversation_wa_id_date_time"},
        "constraints": {"ck_conversation_role"},
    },
    "reservations": {
        "columns": {
            "id", "wa_id", "date", "time_slot", "type", "status",
            "cancelled_at", "created_at", "updated_at",
        },
        "indexes": {
            "idx_reservations_wa_id",
            "idx_reservations_date_time",
            "idx_reservations_status",
            "idx_reservations_wa_id_status",
            "idx_reservations_date_time_status",
        },
        "constraints": {
            "ck_reservations_type",
            "ck_reservations_status",
            "uq_reservations_active_customer_slot",
        },
    },
    "vacation_periods": {
        "columns": {
            "id", "start_date", "end_date", "duration_days", "title", "created_at", "updated_at",
        },
        "indexes": {"idx_vacations_start", "idx_vacations_end"},
        "constraints": {"ck_vacations_start_before_end", "ck_vacations_duration_days"},
    },
    "notification_events": {
        "columns": {"id", "event_type", "ts_iso", "data", "created_at"},
        "indexes": {"idx_notification_events_type_ts", "idx_notification_events_created_at"},
        "constraints": set(),
    },
    "inbound_message_queue": {
        "columns": {
            "id", "message_id", "wa_id", "payload", "status", "attempts",
            "created_at", "updated_at", "locked_at",
        },
        "indexes": {"idx_inbound_queue_status_created"},
        "constraints": {"uq_inbound_message_queue_message_id_not_null"},
    },
}  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("table", sorted(EXPECTED))
def test_table_has_the_schema_names(table):
    expected = EXPECTED[table]
    with connection.cursor() as cursor:
        columns = {c.name for c in connection.introspection.get_table_description(cursor, table)}
        constraints = connection.introspection.get_constraints(cursor, table)
    assert expected["columns"] <= columns
    assert expected["indexes"] | expected["constraints"] <= set(constraints)


@pytest.mark.django_db
def test_typed_columns():
    """Dates, times and timestamps are real types, not the strings of the original bot."""
    types = {}
    with connection.cursor() as cursor:
        for table in ("reservations", "conversation", "vacation_periods"):
            for column in connection.introspection.get_table_description(cursor, table):
                types[table, column.name] = connection.introspection.get_field_type(
                    column.type_code, column
                )
    assert types["reservations", "date"] == "DateField"
    assert types["reservations", "time_slot"] == "TimeField"
    assert types["reservations", "created_at"] == "DateTimeField"
    assert types["conversation", "time"] == "TimeField"
    assert types["vacation_periods", "end_date"] == "DateField"


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_column_types():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_name IN ('customers', 'reservations', 'notification_events')"
        )
        types = {(t, c): d for t, c, d in cursor.fetchall()}
    assert types["customers", "wa_id"] == "text"
    assert types["customers", "document"] == "jsonb"
    assert types["reservations", "cancelled_at"] == "timestamp with time zone"
    assert types["reservations", "date"] == "date"
    assert types["reservations", "time_slot"] == "time without time zone"
    assert types["reservations", "id"] == "integer"


@pytest.mark.postgres
@pytest.mark.django_db
def test_message_id_index_is_partial_on_postgres():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s",
            ["uq_inbound_message_queue_message_id_not_null"],
        )
        (definition,) = cursor.fetchone()
    assert "UNIQUE" in definition
    assert "WHERE (message_id IS NOT NULL)" in definition


def _refused(sql: str, params: list) -> bool:
    """Run raw SQL (no Python validation on the way) and say whether the database refused it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except IntegrityError:
        return True
    return False


NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_database_refuses_duplicate_message_id_but_allows_many_nulls():
    insert = (
        "INSERT INTO inbound_message_queue (message_id, payload, status, attempts, created_at,"
        " updated_at) VALUES (%s, '{}', 'pending', 0, %s, %s)"
    )
    assert not _refused(insert, ["wamid.A", NOW, NOW])
    assert _refused(insert, ["wamid.A", NOW, NOW])
    assert not _refused(insert, [None, NOW, NOW])
    assert not _refused(insert, [None, NOW, NOW])


@pytest.mark.django_db
def test_database_refuses_unknown_reservation_type_and_status():
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO customers (wa_id, is_blocked, created_at, updated_at) "
                       "VALUES ('966500000001', false, %s, %s)", [NOW, NOW])  # fmt: skip
    insert = (
        "INSERT INTO reservations (wa_id, date, time_slot, type, status, created_at, updated_at,"
        " source) VALUES ('966500000001', '2026-12-01', %s, %s, %s, %s, %s, 'staff')"
    )
    assert _refused(insert, ["10:00", 2, "active", NOW, NOW])
    assert _refused(insert, ["10:00", 0, "maybe", NOW, NOW])
    assert not _refused(insert, ["10:00", 0, "active", NOW, NOW])
    # the same customer, the same slot, both active: refused; a different slot is fine
    assert _refused(insert, ["10:00", 1, "active", NOW, NOW])
    assert not _refused(insert, ["10:30", 1, "active", NOW, NOW])


@pytest.mark.django_db
def test_database_refuses_vacation_ending_before_it_starts():
    insert = (
        "INSERT INTO vacation_periods (start_date, end_date, duration_days, created_at,"
        " updated_at) VALUES (%s, %s, %s, %s, %s)"
    )
    assert _refused(insert, ["2026-12-10", "2026-12-01", None, NOW, NOW])
    assert _refused(insert, ["2026-12-01", "2026-12-05", 0, NOW, NOW])
    assert not _refused(insert, ["2026-12-01", None, None, NOW, NOW])
    assert not _refused(insert, ["2026-12-01", "2026-12-01", 1, NOW, NOW])


@pytest.mark.django_db
def test_database_refuses_unknown_conversation_role_and_bad_age():
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO customers (wa_id, is_blocked, created_at, updated_at) "
                       "VALUES ('966500000002', false, %s, %s)", [NOW, NOW])  # fmt: skip
    insert = (
        "INSERT INTO conversation (wa_id, role, message, date, time, created_at, updated_at,"
        " message_type, status, attempts) VALUES ('966500000002', %s, 'x', '2026-11-23',"
        " '10:00', %s, %s, 'text', 'received', 0)"
    )
    assert _refused(insert, ["robot", NOW, NOW])
    assert not _refused(insert, ["secretary", NOW, NOW])
    assert _refused("UPDATE customers SET age = 121 WHERE wa_id = '966500000002'", [])


@pytest.mark.django_db
def test_database_defaults_fill_raw_inserts():
    """Rows written outside Django (reports, imports, pgbench) get status and timestamps."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO inbound_message_queue (payload, updated_at) VALUES ('{}', %s)",
                       [NOW])  # fmt: skip
        cursor.execute("SELECT status, attempts, created_at FROM inbound_message_queue")
        status, attempts, created_at = cursor.fetchone()
    assert (status, attempts) == ("pending", 0)
    assert created_at is not None
