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
from messaging.models import Conversation, FaqEntry
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
    seed_faq()
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


DEMO_FAQ = [
    {
        "question_en": "Is there parking?",
        "question_ar": "هل يوجد موقف للسيارات؟",
        "keywords_en": "parking, park, car park",
        "keywords_ar": "مواقف, موقف سيارات, ركنة, باركنج",
        "answer_en": "Yes: free parking behind the building, entrance from the side street.",
        "answer_ar": "نعم، يوجد موقف مجاني خلف المبنى، والمدخل من الشارع الجانبي.",
    },
    {
        "question_en": "How much is a consultation?",
        "question_ar": "كم سعر الكشف؟",
        "keywords_en": "price, prices, cost, how much, fee, fees",
        "keywords_ar": "سعر, اسعار, بكام, قديش, الكشفية, تكلفة, كم الكشف",
        "answer_en": "A consultation is 200 SAR; a follow-up within two weeks is free.",
        "answer_ar": "سعر الكشف 200 ريال، والمراجعة خلال أسبوعين مجانية.",
    },
    {
        "question_en": "Do you accept insurance?",
        "question_ar": "هل تقبلون التأمين؟",
        "keywords_en": "insurance, bupa, tawuniya, medgulf",
        "keywords_ar": "تامين, التأمين, بوبا, التعاونية",
        "answer_en": "We accept Bupa and Tawuniya; please bring your card.",
        "answer_ar": "نقبل بوبا والتعاونية؛ يرجى إحضار البطاقة.",
    },
    {
        "question_en": "How do I prepare for my visit?",
        "question_ar": "كيف أستعد للزيارة؟",
        "keywords_en": "prepare, fast, fasting, before the visit, blood test",
        "keywords_ar": "استعد, صايم, صيام, قبل التحليل, قبل الزيارة",
        "answer_en": "Come 10 minutes early with your ID; fast 8 hours before a blood test.",
        "answer_ar": "احضر قبل موعدك بعشر دقائق مع الهوية، وصُم 8 ساعات قبل تحليل الدم.",
    },
]


def seed_faq() -> int:
    """The demo clinic's answers (the opening hours entry comes with the migration)."""
    created = 0
    for entry in DEMO_FAQ:
        _, made = FaqEntry.objects.get_or_create(question_en=entry["question_en"], defaults=entry)
        created += made
    return created


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
