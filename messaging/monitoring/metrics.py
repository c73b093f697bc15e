"""Prometheus metrics for /metrics, read from the database at each scrape.

The rows are the truth and every web and worker process writes them, so the figures come from
them rather than from counters inside one process (gunicorn's workers would each count their
own). Every query is bounded: the small sets (pending, processing, queued, due) through their
indexes, the recent ones over the last WINDOW only, the latency over at most LATENCY_SAMPLE rows.
"""

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone
from django_q.brokers import get_broker
from prometheus_client import generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from messaging.models import Conversation, InboundMessage, Reminder
from messaging.monitoring import probes

logger = logging.getLogger(__name__)

WINDOW = timedelta(minutes=5)
LATENCY_SAMPLE = 5000
QUANTILES = (0.5, 0.9, 0.99)
QUEUE_STATUSES = [
    InboundMessage.Status.PENDING,
    InboundMessage.Status.PROCESSING,
    InboundMessage.Status.FAILED,
]


def render() -> bytes:
    """The metrics in Prometheus' text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ClinicCollector())
    return generate_latest(registry)


class ClinicCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()
        yield from inbound_metrics(now)
        yield from outbound_metrics(now)
        yield from latency_metrics(now)
        yield from reminder_metrics(now)
        yield from worker_metrics(now)


def inbound_metrics(now: datetime) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "clinic_inbound_queue_messages",
        "Inbound messages in the queue by status (failed ones wait for staff to retry them).",
        labels=["status"],
    )
    counts = dict(
        InboundMessage.objects.filter(status__in=QUEUE_STATUSES)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for status in QUEUE_STATUSES:
        depth.add_metric([status], counts.get(status, 0))
    yield depth
    yield GaugeMetricFamily(
        "clinic_inbound_queue_oldest_due_seconds",
        "How long the oldest due inbound message has waited since it was stored (0: none).",
        value=probes.inbound_lag(now=now),
    )


def outbound_metrics(now: datetime) -> Iterator[Metric]:
    recent = GaugeMetricFamily(
        "clinic_outbound_messages_recent",
        "Outbound messages created in the last 5 minutes by delivery status and WhatsApp error "
        "code (failed: refused by Meta; code 'none' when there is none).",
        labels=["status", "error_code"],
    )
    rows = (
        Conversation.objects.outbound()
        .filter(created_at__gte=now - WINDOW)
        .values_list("status", "error_code")
        .annotate(n=Count("id"))
        .order_by()
    )
    for status, code, n in rows:
        recent.add_metric([status, "none" if code is None else str(code)], n)
    yield recent
    yield GaugeMetricFamily(
        "clinic_outbound_queued_messages",
        "Outbound messages recorded and not yet sent.",
        value=Conversation.objects.outbound().filter(status=Conversation.Status.QUEUED).count(),
    )


def latency_metrics(now: datetime) -> Iterator[Metric]:
    samples = sorted(
        (processed - stored).total_seconds()
        for stored, processed in InboundMessage.objects.filter(
            status=InboundMessage.Status.DONE, created_at__gte=now - WINDOW
        )
        .order_by("-created_at")
        .values_list("created_at", "processed_at")[:LATENCY_SAMPLE]
        if processed is not None
    )
    latency = GaugeMetricFamily(
        "clinic_reply_latency_seconds",
        "From an inbound message stored to its replies sent, over the messages handled in the "
        "last 5 minutes (absent when none was).",
        labels=["quantile"],
    )
    for q in QUANTILES if samples else ():
        latency.add_metric([str(q)], quantile(samples, q))
    yield latency
    yield GaugeMetricFamily(
        "clinic_inbound_handled_recent",
        "Inbound messages stored in the last 5 minutes and handled (at most 5,000 counted).",
        value=len(samples),
    )


def reminder_metrics(now: datetime) -> Iterator[Metric]:
    due = Reminder.objects.planned().filter(due_at__lte=now)
    oldest = due.order_by("due_at").values_list("due_at", flat=True).first()
    yield GaugeMetricFamily(
        "clinic_reminders_due",
        "Reminders due and not sent yet (waiting, or held).",
        value=due.count(),
    )
    yield GaugeMetricFamily(
        "clinic_reminders_oldest_due_seconds",
        "How long ago the oldest unsent due reminder fell due (0: none).",
        value=0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0),
    )


def worker_metrics(now: datetime) -> Iterator[Metric]:
    age = probes.heartbeat_age(now=now)
    if age is not None:
        yield GaugeMetricFamily(
            "clinic_worker_heartbeat_age_seconds",
            "Seconds since a background worker last ran its heartbeat task (every minute).",
            value=age,
        )
    try:
        size = get_broker().queue_size()
    except Exception as exc:  # Redis down: the other metrics still go out
        logger.warning("metrics: the task broker does not answer: %s", exc)
        return
    yield GaugeMetricFamily(
        "clinic_task_queue_tasks", "Tasks waiting in django-q2's broker.", value=size or 0
    )


def quantile(ordered: Iterable[float], q: float) -> float:
    """The nearest-rank quantile of already sorted values."""
    values = list(ordered)
    return values[min(int(q * len(values)), len(values) - 1)]
