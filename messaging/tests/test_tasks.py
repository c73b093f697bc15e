import pytest
from django.core.management import call_command
from django.utils.module_loading import import_string
from django_q.models import Schedule

from messaging import privacy, services, tasks
from messaging.management.commands.setup_schedules import SCHEDULES
from messaging.models import InboundMessage, SandboxMessage
from messaging.tests.factories import InboundMessageFactory
from messaging.whatsapp import delivery

pytestmark = pytest.mark.broker

TASK_NAMES = [
    services.DRAIN_TASK,
    delivery.STATUS_TASK,
    delivery.SEND_TASK,
    "messaging.tasks.send_sandbox_statuses",
    *(func for _, func, _ in SCHEDULES),
]


@pytest.mark.parametrize("name", TASK_NAMES)
def test_task_names_resolve(name):
    assert callable(import_string(name))


@pytest.mark.django_db
def test_drain_task_reports_what_it_did(graph):
    InboundMessageFactory(payload="{broken")
    InboundMessageFactory(wa_id="966500000009")
    assert tasks.drain_inbound() == "1 done, 0 to retry later, 1 failed"
    assert sorted(InboundMessage.objects.values_list("status", flat=True)) == ["done", "failed"]


@pytest.mark.parametrize(("timeout", "budget"), [(60, 30.0), (20, 10.0), (5, 2.5)])
def test_long_tasks_stop_well_before_django_q_would_kill_them(settings, timeout, budget):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": timeout}
    assert tasks.time_budget() == budget


@pytest.mark.django_db
def test_the_drain_and_retention_tasks_work_within_the_budget(settings, monkeypatch):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 20}
    budgets = []

    def drain(*, max_seconds):
        budgets.append(max_seconds)
        return services.DrainResult()

    def retention(*, max_seconds):
        budgets.append(max_seconds)
        return privacy.RetentionResult(mode="anonymise")

    monkeypatch.setattr(services, "drain_inbound_queue", drain)
    monkeypatch.setattr(privacy, "apply_retention", retention)
    tasks.drain_inbound()
    tasks.apply_retention()
    assert budgets == [10.0, 10.0]


@pytest.mark.django_db
def test_send_outbound_task_ignores_a_missing_row():
    tasks.send_outbound(12345)  # no error: a deleted row is nothing to send


@pytest.mark.django_db
def test_sweep_task_reports_what_it_did():
    assert tasks.sweep().startswith("0 stale claims taken back")


@pytest.mark.django_db
def test_sandbox_statuses_stop_at_an_unreachable_webhook():
    message = SandboxMessage.objects.create(
        direction="out",
        wa_id="966501234567",
        wa_message_id="wamid.X",
        body={},
        status="accepted",
        webhook_url="http://127.0.0.1:9/webhooks/whatsapp/",
    )
    assert tasks.send_sandbox_statuses(message.id) == 0
    message.refresh_from_db()
    assert message.status == "accepted"


@pytest.mark.django_db
def test_reminder_tasks_report_what_they_did():
    assert tasks.plan_reminders() == "0 planned, 0 re-planned, 0 cancelled"
    assert tasks.send_reminders() == "0 reminders sent of 0 due"


@pytest.mark.django_db
def test_setup_schedules_runs_the_reminders_every_few_minutes():
    call_command("setup_schedules")
    call_command("setup_schedules")
    minutes = dict(
        Schedule.objects.filter(func__contains="reminders").values_list("func", "minutes")
    )
    assert minutes == {"messaging.tasks.plan_reminders": 5, "messaging.tasks.send_reminders": 2}
