"""Demo customers for `make run`."""

from datetime import date

from customers.models import Customer

DEMO_CUSTOMERS = [
    ("966501234567", "Sara Al-Qahtani", "ar", 34),
    ("966502345678", "محمد العتيبي", "ar", 52),
    ("966503456789", "Noura Al-Harbi", "en", 27),
    ("966504567890", "عبدالله الشهري", "ar", 8),
    ("447700900123", "James Carter", "en", 41),
    ("966505678901", "Layla Haddad", "en", None),
]


def seed_customers() -> list[Customer]:
    customers = []
    for wa_id, name, language, age in DEMO_CUSTOMERS:
        customer, _ = Customer.objects.get_or_create(
            wa_id=wa_id,
            defaults={
                "customer_name": name,
                "language": language,
                "age": age,
                "age_recorded_at": date(2025, 1, 15) if age is not None else None,
            },
        )
        customers.append(customer)
    return customers
