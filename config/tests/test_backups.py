"""Backups restore (README, "Backups"): a dump of a migrated database with data, restored into a
fresh database, is fully migrated, holds every row, and takes new rows."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

from messaging.demo import seed_demo_data
from messaging.tests.factories import ConversationFactory, InboundMessageFactory

BASE_DIR = Path(__file__).resolve().parents[2]


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "true", "REDIS_URL": ""}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def run(*command: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, timeout=300)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr


def row_counts(cursor: Any, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (names from the schema)
        counts[table] = cursor.fetchone()[0]
    return counts


CHECK_NEW_ROWS = (
    "from messaging.models import NotificationEvent; from customers.models import Customer; "
    "Customer.objects.create(wa_id='966509990001'); "
    "print(NotificationEvent.objects.create(event_type='restored', data={}).pk)"
)


@pytest.mark.postgres
@pytest.mark.skipif(not shutil.which("pg_dump"), reason="needs pg_dump and pg_restore")
@pytest.mark.django_db(transaction=True)
def test_a_pg_dump_restores_into_a_fresh_database_migrated_and_whole(tmp_path):
    seed_demo_data()
    InboundMessageFactory.create_batch(3)
    ConversationFactory.create_batch(3)
    tables = sorted(connection.introspection.table_names())
    with connection.cursor() as cursor:
        before = row_counts(cursor, tables)
    assert min(before[t] for t in ("reservations", "customers", "inbound_message_queue")) > 0

    db = settings.DATABASES["default"]
    server = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}"
    source, fresh = f"{server}/{db['NAME']}", f"{db['NAME']}_restored"
    dump = tmp_path / "clinic.dump"
    # The commands README gives.
    run("pg_dump", "--format=custom", f"--file={dump}", source)
    run("psql", f"{server}/postgres", "-c", f'DROP DATABASE IF EXISTS "{fresh}"')
    run("createdb", f"--maintenance-db={server}/postgres", fresh)
    try:
        run("pg_restore", "--no-owner", "--exit-on-error", f"--dbname={server}/{fresh}", str(dump))
        result = manage("migrate", "--check", database_url=f"{server}/{fresh}")
        assert result.returncode == 0, result.stdout + result.stderr  # nothing left to apply
        restored = connection.copy()
        restored.settings_dict = {**db, "NAME": fresh}
        try:
            with restored.cursor() as cursor:
                assert row_counts(cursor, tables) == before
        finally:
            restored.close()
        result = manage("shell", "-c", CHECK_NEW_ROWS, database_url=f"{server}/{fresh}")
        assert result.returncode == 0, result.stderr  # the sequences came along
        assert int(result.stdout.splitlines()[-1]) > before["notification_events"]
    finally:
        run("psql", f"{server}/postgres", "-c", f'DROP DATABASE IF EXISTS "{fresh}" WITH (FORCE)')


@pytest.mark.skipif(not shutil.which("sqlite3"), reason="needs the sqlite3 command")
def test_a_sqlite_backup_of_the_live_file_is_migrated_and_whole(tmp_path):
    live, copy = tmp_path / "db.sqlite3", tmp_path / "backup.sqlite3"
    result = manage("migrate", "--noinput", database_url=f"sqlite:///{live}")
    assert result.returncode == 0, result.stderr
    result = manage("seed_demo", database_url=f"sqlite:///{live}")
    assert result.returncode == 0, result.stderr
    # The command README gives: an online backup, safe while the server and worker write.
    run("sqlite3", str(live), f".backup '{copy}'")
    result = manage("migrate", "--check", database_url=f"sqlite:///{copy}")
    assert result.returncode == 0, result.stdout + result.stderr
    a, b = sqlite3.connect(live), sqlite3.connect(copy)
    try:
        tables = [t for (t,) in a.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert row_counts(a.cursor(), tables) == row_counts(b.cursor(), tables)
        assert row_counts(b.cursor(), ["reservations"])["reservations"] > 0
    finally:
        a.close()
        b.close()
