"""Database helpers shared by the apps."""

from collections.abc import Sequence
from typing import Any

import psycopg
from django.db import InterfaceError, OperationalError, connection, models
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


class Index(models.Index):
    """An index whose name may be as long as PostgreSQL allows.

    Django limits index names to 30 characters for Oracle's sake; the schema we keep
    (`shared/docs/schema.md`) names indexes such as `idx_reservations_date_time_status`.
    """

    max_name_length = 63


def run_idempotent_statement(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Run one PostgreSQL statement that may safely run twice; return the rows it returns.

    Its values are bound on the server (Django's cursors merge them into the SQL on the client),
    so psycopg keeps a statement that runs again and again prepared (after `prepare_threshold`
    runs, see settings) and PostgreSQL parses and plans it once per connection: half the
    database's work on the webhook's insert. It is still Django's cursor wrapper: errors become
    Django's, and execute wrappers and query logging see it.

    It does without CONN_HEALTH_CHECKS' round trip before each request: if the persistent
    connection turns out dead (the database restarted), it reconnects and runs the statement
    again, which is safe because running it twice does what running it once does. Inside a
    transaction it cannot, and raises.
    """
    try:
        return _run_server_bound(sql, params)
    except (OperationalError, InterfaceError):
        if connection.in_atomic_block or connection.is_usable():
            raise
        connection.close()
    return _run_server_bound(sql, params)


def _run_server_bound(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    connection.ensure_connection()
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    with wrapper(psycopg.Cursor(connection.connection), connection) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


# SQLSTATE classes of errors that may go away on their own: connection exceptions (08),
# transaction rollbacks such as deadlocks and serialisation failures (40), insufficient resources
# (53), operator intervention such as a shutdown or a statement timeout (57), system errors (58).
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
_TRANSIENT_SQLSTATES = frozenset({"55P03", "55006"})  # lock not available, object in use
# SQLite: busy, locked, I/O error, disk full, cannot open.
_TRANSIENT_SQLITE_CODES = frozenset({5, 6, 10, 13, 14})


def is_transient_error(exc: BaseException) -> bool:
    """Whether a database error may succeed on retry (a lost connection, a deadlock, a full disk),
    as opposed to a statement the database refuses whatever the moment (bad data, a limit)."""
    if isinstance(exc, InterfaceError):
        return True
    cause = exc.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES
    sqlite_code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF in _TRANSIENT_SQLITE_CODES
    if isinstance(exc, OperationalError):
        # No SQLSTATE: a failure on the client's side. A lost connection is transient; one that
        # still works refused the statement itself (e.g. more than 65,535 parameters).
        raw = connection.connection
        return raw is None or bool(getattr(raw, "closed", False) or getattr(raw, "broken", False))
    return False
