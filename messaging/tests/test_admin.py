"""The admin is the staff's main tool: every page loads, searches work, logs are read-only."""

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from customers.tests.factories import CustomerFactory
from messaging.models import (
    BotSession,
    Conversation,
    InboundMessage,
    MessagingSettings,
    NotificationEvent,
    Reminder,
)
from messaging.tests.factories import (
    ConversationFactory,
    InboundMessageFactory,
    NotificationEventFactory,
)
from reservations.tests.factories import ReservationFactory, VacationPeriodFactory

MODELS = [
    ("customers", "customer"),
    ("reservations", "reservation"),
    ("reservations", "vacationperiod"),
    ("messaging", "conversation"),
    ("messaging", "notificationevent"),
    ("messaging", "inboundmessage"),
    ("messaging", "statusupdate"),
    ("messaging", "sandboxmessage"),
    ("messaging", "botsession"),
    ("messaging", "reminder"),
    ("messaging", "messagingsettings"),
    ("messaging", "vacationnotice"),
    ("messaging", "vacationnotification"),
    ("messaging", "faqentry"),
]


@pytest.fixture
def data():
    customer = CustomerFactory(wa_id="966501234567", customer_name="سارة القحطاني", age=30)
    ReservationFactory(customer=customer)
    VacationPeriodFactory()
    ConversationFactory(customer=customer, message="مرحبا")
    BotSession.objects.create(customer=customer, unplaced_texts=1, expires_at=timezone.now())
    NotificationEventFactory(wa_id=customer.wa_id)
    InboundMessageFactory(wa_id=customer.wa_id, status=InboundMessage.Status.FAILED,
                          last_error="boom")  # fmt: skip
    return customer


@pytest.mark.django_db
@pytest.mark.parametrize(("app", "model"), MODELS)
def test_changelists_and_searches_load(staff_client, data, app, model):
    url = reverse(f"admin:{app}_{model}_changelist")
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url, {"q": "9665"}).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(("app", "model"), MODELS)
def test_admin_pages_need_a_staff_login(client, app, model):
    response = client.get(reverse(f"admin:{app}_{model}_changelist"))
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_customer_page_shows_reservations_recent_messages_and_current_age(staff_client, data):
    for index in range(25):
        ConversationFactory(customer=data, message=f"message {index}")
    response = staff_client.get(reverse("admin:customers_customer_change", args=[data.wa_id]))
    content = response.content.decode()
    assert response.status_code == 200
    assert "message 24" in content  # the newest
    assert "message 3" not in content  # beyond the latest 20
    assert "Reservations" in content
    assert "current age" in content.lower()


@pytest.mark.django_db
def test_customer_search_by_name_and_number(staff_client, data):
    CustomerFactory(wa_id="447700900123", customer_name="James Carter")
    url = reverse("admin:customers_customer_changelist")
    by_name = staff_client.get(url, {"q": "سارة"}).content.decode()
    assert "966501234567" in by_name
    assert "447700900123" not in by_name
    by_number = staff_client.get(url, {"q": "447700"}).content.decode()
    assert "447700900123" in by_number
    assert "966501234567" not in by_number


@pytest.mark.django_db
def test_staff_adds_a_customer_with_a_local_number(staff_client):
    response = staff_client.post(
        reverse("admin:customers_customer_add"),
        {"wa_id": "050 123 4567", "customer_name": "Walk-in", "language": "ar", "age": "40"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    from customers.models import Customer

    customer = Customer.objects.get(customer_name="Walk-in")
    assert customer.wa_id == "966501234567"
    assert customer.age_recorded_at is not None


@pytest.mark.django_db
def test_logs_and_queue_are_read_only(staff_client, data):
    for model in ("conversation", "notificationevent", "inboundmessage"):
        assert staff_client.get(reverse(f"admin:messaging_{model}_add")).status_code == 403
    message = Conversation.objects.get()
    response = staff_client.post(
        reverse("admin:messaging_conversation_change", args=[message.pk]), {"message": "edited"}
    )
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.message == "مرحبا"


@pytest.mark.django_db
def test_retry_action_requeues_failed_messages(staff_client, data):
    row = InboundMessage.objects.get()
    response = staff_client.post(
        reverse("admin:messaging_inboundmessage_changelist"),
        {"action": "retry", "_selected_action": [row.pk]},
        follow=True,
    )
    assert "1 message queued again" in response.content.decode()
    row.refresh_from_db()
    assert row.status == InboundMessage.Status.PENDING


@pytest.mark.django_db
def test_admin_in_arabic_is_right_to_left(staff_client, data):
    staff_client.post(reverse("set_language"), {"language": "ar", "next": "/admin/"})
    response = staff_client.get(reverse("admin:index"))
    content = response.content.decode()
    assert 'dir="rtl"' in content
    assert 'lang="ar"' in content
    english = staff_client.get(reverse("admin:index"), headers={"accept-language": "en"})
    assert 'dir="rtl"' in english.content.decode()  # the chosen language sticks (cookie)


@pytest.mark.django_db
def test_admin_changelist_query_count_does_not_grow_with_rows(
    staff_client, data, django_assert_max_num_queries
):
    for index in range(30):
        ConversationFactory(customer=data, message=f"m{index}")
        ReservationFactory(customer=CustomerFactory())
    for url in (
        reverse("admin:messaging_conversation_changelist"),
        reverse("admin:reservations_reservation_changelist"),
    ):
        with django_assert_max_num_queries(12):
            assert staff_client.get(url).status_code == 200


@pytest.mark.django_db
def test_pause_switch_in_the_admin_pauses_automated_messaging(staff_client):
    url = reverse("admin:messaging_messagingsettings_add")
    response = staff_client.post(
        url, {"automated_paused": "on", "paused_reason": "system migration"}, follow=True
    )
    assert response.status_code == 200
    row = MessagingSettings.objects.get()
    assert (row.automated_paused, row.paused_reason, row.changed_by) == (
        True,
        "system migration",
        "reception",
    )
    assert NotificationEvent.objects.filter(event_type="automated_messaging_paused").exists()
    assert staff_client.get(url).status_code == 403  # one row only
    change = reverse("admin:messaging_messagingsettings_change", args=[row.pk])
    staff_client.post(change, {"paused_reason": ""}, follow=True)
    row.refresh_from_db()
    assert not row.automated_paused
    assert NotificationEvent.objects.filter(event_type="automated_messaging_resumed").exists()


@pytest.mark.django_db
def test_messaging_settings_are_one_row_in_the_database():
    MessagingSettings.load()
    with pytest.raises(IntegrityError), transaction.atomic():
        MessagingSettings.objects.create(id=2)


@pytest.mark.django_db
def test_failed_reminders_are_listed_for_staff(staff_client):
    reservation = ReservationFactory()
    Reminder.objects.create(
        reservation=reservation,
        kind=Reminder.Kind.DAY_BEFORE,
        slot_date=reservation.date,
        slot_time=reservation.time_slot,
        due_at=timezone.now(),
        status=Reminder.Status.FAILED,
        last_error="(132001) template does not exist",
    )
    url = reverse("admin:messaging_reminder_changelist")
    content = staff_client.get(url, {"status__exact": "failed"}).content.decode()
    assert "template does not exist" in content
    assert (
        "template does not exist"
        not in staff_client.get(url, {"status__exact": "sent"}).content.decode()
    )


@pytest.mark.parametrize(
    "url",
    [
        "admin:messaging_conversation_changelist",
        "admin:customers_customer_changelist",
    ],
)
def test_big_changelists_never_run_a_distinct_over_the_table(staff_client, data, url):
    # A plain field filter or a date_hierarchy runs SELECT DISTINCT over every row on each view
    # (150 ms on a million conversation rows); the filters on these pages are fixed lists.
    # (Reservations keep their date hierarchy: see ReservationAdmin.)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert staff_client.get(reverse(url)).status_code == 200
    assert not [q["sql"] for q in queries if "DISTINCT" in q["sql"]]


@pytest.mark.django_db
def test_conversation_admin_filters_by_message_type(staff_client, data):
    ConversationFactory(customer=data, message="a picture", message_type="image")
    url = reverse("admin:messaging_conversation_changelist")
    page = staff_client.get(url, {"message_type": "image"}).content.decode()
    assert "a picture" in page
    assert "مرحبا" not in page


@pytest.mark.django_db
def test_conversation_admin_search_goes_through_the_customers(staff_client, data):
    other = CustomerFactory(wa_id="966509999999", customer_name="Omar")
    ConversationFactory(customer=other, message="from omar", wa_message_id="wamid.OMAR1")
    url = reverse("admin:messaging_conversation_changelist")
    for term, shown, hidden in [
        ("0123456", "مرحبا", "from omar"),  # part of a number
        ("سارة", "مرحبا", "from omar"),  # part of a name
        ("omar", "from omar", "مرحبا"),
        ("wamid.OMAR1", "from omar", "مرحبا"),  # a message id, exactly
    ]:
        page = staff_client.get(url, {"q": term}).content.decode()
        assert shown in page, term
        assert hidden not in page, term


@pytest.mark.django_db
def test_reservation_admin_search_goes_through_the_customers(staff_client, data):
    ReservationFactory(customer=CustomerFactory(wa_id="966509999999", customer_name="Omar"))
    url = reverse("admin:reservations_reservation_changelist")
    page = staff_client.get(url, {"q": "Omar"}).content.decode()
    assert "966509999999" in page
    assert "966501234567" not in page


def test_conversation_admin_shows_sends_being_retried_and_the_last_error(staff_client):
    retried = ConversationFactory(
        role="assistant", status="queued", error_message="cannot connect to h:1: refused"
    )
    ConversationFactory(role="assistant", status="sent")
    url = reverse("admin:messaging_conversation_changelist")
    html = staff_client.get(url).content.decode()
    assert "1 send is being retried. Last send error: cannot connect to h:1: refused" in html
    listed = staff_client.get(url, {"sending": "retrying"}).context["cl"].result_list
    assert list(listed) == [retried]
    assert (
        "(being retried) cannot connect to h:1: refused"
        in staff_client.get(url, {"sending": "retrying"}).content.decode()
    )


def test_faq_actions_switch_answers_on_and_off(staff_client):
    from messaging.models import FaqEntry

    entry = FaqEntry.objects.get(kind=FaqEntry.Kind.OPENING_HOURS)
    url = reverse("admin:messaging_faqentry_changelist")
    staff_client.post(url, {"action": "deactivate", "_selected_action": [entry.pk]})
    entry.refresh_from_db()
    assert not entry.is_active
    staff_client.post(url, {"action": "activate", "_selected_action": [entry.pk]})
    entry.refresh_from_db()
    assert entry.is_active


def test_a_receptionist_edits_faq_answers_but_does_not_add_or_delete_them(
    client, django_user_model
):
    from django.contrib.auth.models import Group

    from config.permissions import RECEPTIONIST, setup_roles
    from messaging.models import FaqEntry

    setup_roles()
    desk = django_user_model.objects.create_user("desk", password="pw-desk-12345", is_staff=True)
    desk.groups.add(Group.objects.get(name=RECEPTIONIST))
    client.force_login(desk)
    entry = FaqEntry.objects.get(kind=FaqEntry.Kind.OPENING_HOURS)
    assert (
        client.get(reverse("admin:messaging_faqentry_change", args=[entry.pk])).status_code == 200
    )
    assert client.get(reverse("admin:messaging_faqentry_add")).status_code == 403
    assert (
        client.get(reverse("admin:messaging_faqentry_delete", args=[entry.pk])).status_code == 403
    )
    page = client.get(reverse("admin:messaging_faqentry_changelist"))
    assert "deactivate" in page.content.decode()
