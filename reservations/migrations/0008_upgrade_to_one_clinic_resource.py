"""The clinic as it was becomes one resource and two services, and every reservation is theirs.

The resource is the clinic itself (`is_clinic`: capacity, staff limit and per-type limits keep
coming from the booking rules, hours from the clinic's schedule: it has none of its own); its
capacity column records today's capacity per slot. The two services (appointment, follow-up)
last one clinic slot, so a season with shorter slots keeps its shorter visits. Each reservation
gets the clinic, the service of its type, and the end of its slot (the season's or the normal
week's slot length on its date); its blocked range is that slot, as an aware range.
"""

import datetime as dt

from django.conf import settings
from django.db import migrations
from django.utils import timezone

NAMES = {0: ("Appointment", "موعد"), 1: ("Follow-up", "مراجعة")}
BATCH = 2000


def _slot_minutes(apps):
    """[(first day, last day, minutes)] of the seasons, and the normal week's minutes."""
    schedules = apps.get_model("reservations", "WeeklySchedule").objects.all()
    normal = next((s.slot_minutes for s in schedules if s.is_normal_week), 30)
    seasons = [(s.start_date, s.end_date, s.slot_minutes) for s in schedules if not s.is_normal_week]
    return seasons, normal


def upgrade(apps, schema_editor):
    resource_model = apps.get_model("reservations", "Resource")
    service_model = apps.get_model("reservations", "Service")
    link_model = apps.get_model("reservations", "ServiceResource")
    rules = apps.get_model("reservations", "BookingRules").objects.filter(pk=1).first()
    seasons, normal = _slot_minutes(apps)

    clinic = resource_model.objects.filter(is_clinic=True).first()
    if clinic is None:
        clinic = resource_model.objects.create(
            name="Clinic",
            name_ar="العيادة",
            resource_type="practitioner",
            capacity=rules.capacity if rules else 2,
            is_clinic=True,
        )
    services = {}
    for type_, (english, arabic) in NAMES.items():
        service = service_model.objects.filter(type=type_, lasts_one_slot=True).first()
        if service is None:
            service = service_model.objects.create(
                name=english,
                name_ar=arabic,
                type=type_,
                duration_minutes=normal,
                lasts_one_slot=True,
            )
        link_model.objects.get_or_create(service=service, resource=clinic)
        services[type_] = service

    if schema_editor.connection.vendor == "postgresql":
        _fill_postgresql(schema_editor, clinic, services, seasons, normal)
    else:
        _fill_rows(apps, clinic, services, seasons, normal)


def _fill_postgresql(schema_editor, clinic, services, seasons, normal):
    zone = settings.TIME_ZONE
    length = "make_interval(mins => {minutes})"
    case = " ".join(
        f"WHEN date BETWEEN %s AND %s THEN {length.format(minutes=int(minutes))}"
        for _first, _last, minutes in seasons
    )
    slot = f"(CASE {case} ELSE {length.format(minutes=int(normal))} END)" if seasons else (
        length.format(minutes=int(normal))
    )
    params = [value for first, last, _minutes in seasons for value in (first, last)]
    schema_editor.execute(
        f"""UPDATE reservations SET
            resource_id = %s,
            service_id = CASE type WHEN 1 THEN %s ELSE %s END,
            end_time = ((date + time_slot) + {slot})::time,
            blocked_from = (date + time_slot) AT TIME ZONE %s,
            blocked_until = ((date + time_slot) + {slot}) AT TIME ZONE %s,
            exclusive = false
        WHERE resource_id IS NULL""",
        [clinic.pk, services[1].pk, services[0].pk, *params, zone, *params, zone],
    )


def _fill_rows(apps, clinic, services, seasons, normal):
    reservation_model = apps.get_model("reservations", "Reservation")
    pending = reservation_model.objects.filter(resource__isnull=True).order_by("pk")
    while True:
        batch = list(pending[:BATCH])
        if not batch:
            return
        for reservation in batch:
            minutes = next(
                (m for first, last, m in seasons if first <= reservation.date <= last), normal
            )
            starts = timezone.make_aware(dt.datetime.combine(reservation.date, reservation.time_slot))
            ends = starts + dt.timedelta(minutes=minutes)
            reservation.resource_id = clinic.pk
            reservation.service_id = services[1 if reservation.type == 1 else 0].pk
            reservation.end_time = timezone.localtime(ends).time()
            reservation.blocked_from, reservation.blocked_until = starts, ends
            reservation.exclusive = False
        reservation_model.objects.bulk_update(
            batch,
            ["resource", "service", "end_time", "blocked_from", "blocked_until", "exclusive"],
        )


class Migration(migrations.Migration):
    dependencies = [("reservations", "0007_resources_and_services")]

    operations = [migrations.RunPython(upgrade, migrations.RunPython.noop, elidable=False)]
