import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_q.models import Schedule

from messaging import events, tasks
from messaging.management.commands.setup_schedules import SCHEDULES
from messaging.models import NotificationEvent
from messaging.tests.factories import NotificationEventFactory

NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)
pytestmark = [pytest.mark.django_db, pytest.mark.broker]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def make_events(n, *, days_ago):
    created = NOW - dt.timedelta(days=days_ago)
    return NotificationEventFactory.create_batch(n, created_at=created, ts_iso="")


def test_record_event_stamps_utc_iso_time():
    event = events.record_event(event_type="x", data={"a": 1}, wa_id="966501234567")
    assert event.ts_iso == "2026-11-22T06:00:00.000000+00:00"
    assert event.created_at == NOW


def test_pruning_removes_older_events_and_keeps_newer(settings):
    settings.NOTIFICATION_EVENTS_RETENTION_DAYS = 180
    old = make_events(3, days_ago=181)
    kept = make_events(2, days_ago=179)
    result = events.prune_notification_events()
    assert result == events.PruneResult(deleted=3, more=False)
    assert set(NotificationEvent.objects.values_list("id", flat=True)) == {e.id for e in kept}
    assert not NotificationEvent.objects.filter(id__in=[e.id for e in old]).exists()


def test_pruning_deletes_in_bounded_batches_and_stops_at_its_bound():
    make_events(7, days_ago=400)
    with CaptureQueriesContext(connection) as queries:
        result = events.prune_notification_events(retention_days=30, batch_size=3, max_batches=2)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 2
    assert result == events.PruneResult(deleted=6, more=True)
    assert NotificationEvent.objects.count() == 1
    assert str(result) == "pruned 6 events (more remain)"


def test_pruning_leaves_newer_rows_inside_an_old_id_range():
    """An event created out of id order (a late write) inside the range is kept."""
    first = make_events(1, days_ago=200)[0]
    recent = make_events(1, days_ago=1)[0]
    last = make_events(1, days_ago=200)[0]
    assert first.id < recent.id < last.id
    assert events.prune_notification_events(retention_days=180).deleted == 2
    assert list(NotificationEvent.objects.values_list("id", flat=True)) == [recent.id]


def test_prune_task_continues_a_backlog_in_a_new_task(monkeypatch):
    queued = []
    monkeypatch.setattr(tasks, "async_task", lambda name: queued.append(name))
    monkeypatch.setattr(
        events,
        "prune_notification_events",
        lambda: events.PruneResult(deleted=5, more=True),
    )
    assert tasks.prune_events() == "pruned 5 events (more remain)"
    assert queued == ["messaging.tasks.prune_events"]


def test_setup_schedules_is_idempotent():
    call_command("setup_schedules")
    Schedule.objects.filter(func="messaging.tasks.prune_events").update(minutes=999)
    call_command("setup_schedules")
    assert Schedule.objects.count() == len(SCHEDULES)  # one row per job, however many runs
    prune = Schedule.objects.get(func="messaging.tasks.prune_events")
    assert prune.minutes == 60
    assert prune.repeats == -1
