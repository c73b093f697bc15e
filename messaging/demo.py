"""Demo data for `make run`: every app's demo rows and a staff login."""

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from config.permissions import RECEPTIONIST, setup_roles
from customers.demo import seed_customers
from customers.models import Customer
from messaging.models import Conversation
from reservations.demo import seed_reservations, seed_vacations

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-clinic"  # noqa: S105 (a printed demo login; seeding refuses DEBUG=false)
DEMO_RECEPTIONIST_USERNAME = "frontdesk"
DEMO_RECEPTIONIST_PASSWORD = "frontdesk-clinic"  # noqa: S105 (same)


@dataclass(frozen=True)
class DemoSummary:
    customers: int
    reservations: int
    vacations: int
    messages: int


@transaction.atomic
def seed_demo_data() -> DemoSummary:
    """Create the demo rows that are missing and the demo staff login; safe to run again."""
    customers = seed_customers()
    reservations = seed_reservations(customers)
    vacations = seed_vacations()
    messages = seed_conversation(customers[0])
    ensure_demo_staff_user()
    ensure_demo_receptionist()
    return DemoSummary(len(customers), reservations, vacations, messages)


def seed_conversation(customer: Customer) -> int:
    if Conversation.objects.exists():
        return 0
    start = timezone.now() - timedelta(hours=2)
    lines = [
        (Conversation.Role.USER, "السلام عليكم، أبغى أحجز موعد"),
        (Conversation.Role.ASSISTANT, "وعليكم السلام! اختر نوع الموعد من القائمة."),
        (Conversation.Role.USER, "كشف"),
    ]
    for offset, (role, text) in enumerate(lines):
        Conversation.objects.create(
            customer=customer,
            role=role,
            message=text,
            created_at=start + timedelta(minutes=offset),
            status=(
                Conversation.Status.RECEIVED
                if role == Conversation.Role.USER
                else Conversation.Status.READ
            ),
        )
    Customer.objects.filter(pk=customer.pk).touch_last_message(start + timedelta(minutes=2))
    return len(lines)


def ensure_demo_staff_user() -> None:
    user, _ = get_user_model().objects.get_or_create(
        username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True}
    )
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(DEMO_PASSWORD)
    user.save()


def ensure_demo_receptionist() -> None:
    """A staff login with the Receptionist role only, to see what the front desk sees."""
    setup_roles()
    user, _ = get_user_model().objects.get_or_create(username=DEMO_RECEPTIONIST_USERNAME)
    user.is_staff = user.is_active = True
    user.is_superuser = False
    user.set_password(DEMO_RECEPTIONIST_PASSWORD)
    user.save()
    user.groups.set([Group.objects.get(name=RECEPTIONIST)])
