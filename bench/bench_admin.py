"""Admin changelists and staff pages on 1,000,000 conversation rows, 200,000 reservations and
50,000 customers after churn, beside the default admin (plain ModelAdmin, default paginator) on
the same data.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/bench_admin.py

Creates the throwaway database `clinic_bench_big` on that server (dropped at the end unless
--keep; --reuse skips the fill), fills it with INSERT ... SELECT generate_series, churns it
(updates and deletes, no VACUUM; ANALYZE as autovacuum would), then GETs every page through
Django's test client as a superuser: p95 over --runs warm requests, and the query count with
list_per_page 100 and 400. Writes the "admin and staff pages" section of bench/RESULTS.md.
"""

import argparse
import os
import sys
import time
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

BIG_DB = "clinic_bench_big"
SECTION = "admin and staff pages"
CUSTOMERS = 50_000
CONVERSATIONS = 1_000_000
RESERVATIONS = 200_000
QUEUE_ROWS = 200_000
CONVERSATIONS_URL = "/admin/messaging/conversation/"
RESERVATIONS_URL = "/admin/reservations/reservation/"

FILL_SQL = [
    f"""
    INSERT INTO customers (wa_id, customer_name, language, is_blocked, created_at, updated_at,
                           last_message_at, last_inbound_at, profile_name, needs_staff_since)
    SELECT '9665' || lpad(n::text, 8, '0'), 'Customer ' || n,
           CASE WHEN n % 3 = 0 THEN 'en' ELSE 'ar' END, n % 500 = 0,
           now() - (n || ' minutes')::interval, now(),
           now() - (n || ' minutes')::interval, now() - (n || ' minutes')::interval,
           'Profile ' || n,
           CASE WHEN n % 50 = 0 THEN now() - (n || ' minutes')::interval END
    FROM generate_series(0, {CUSTOMERS - 1}) AS n
    """,
    f"""
    INSERT INTO conversation (wa_id, role, message, date, time, created_at, updated_at,
                              wa_message_id, message_type, status, attempts)
    SELECT '9665' || lpad((n % {CUSTOMERS})::text, 8, '0'),
           CASE WHEN n % 2 = 0 THEN 'user' ELSE 'assistant' END,
           'message number ' || n || ' أريد موعداً',
           (t AT TIME ZONE 'Asia/Riyadh')::date, (t AT TIME ZONE 'Asia/Riyadh')::time,
           t, t, 'wamid.BIG' || n, 'text',
           CASE WHEN n % 2 = 0 THEN 'received' ELSE 'delivered' END, 0
    FROM generate_series(0, {CONVERSATIONS - 1}) AS n,
         LATERAL (SELECT now() - (({CONVERSATIONS} - n) * 20 || ' seconds')::interval AS t) AS x
    """,
    f"""
    INSERT INTO reservations (wa_id, date, time_slot, type, status, cancelled_at, created_at,
                              updated_at, source, cancelled_source)
    SELECT '9665' || lpad((n % {CUSTOMERS})::text, 8, '0'),
           current_date - 300 + (n / {CUSTOMERS}) * 100 + (n % 90),
           time '09:00' + ((n % 16) * 30 || ' minutes')::interval,
           n % 2, CASE WHEN n % 5 = 0 THEN 'cancelled' ELSE 'active' END,
           CASE WHEN n % 5 = 0 THEN now() END, now(), now(), 'customer',
           CASE WHEN n % 5 = 0 THEN 'customer' END
    FROM generate_series(0, {RESERVATIONS - 1}) AS n
    """,
    f"""
    INSERT INTO inbound_message_queue (message_id, wa_id, payload, status, attempts, created_at,
                                       updated_at, processed_at, sent_at)
    SELECT 'wamid.Q' || n, '9665' || lpad((n % {CUSTOMERS})::text, 8, '0'),
           '{{"type": "text", "text": {{"body": "hello"}}}}',
           CASE WHEN n % 1000 = 0 THEN 'failed' ELSE 'done' END, 1, t, t, t, t
    FROM generate_series(0, {QUEUE_ROWS - 1}) AS n,
         LATERAL (SELECT now() - (({QUEUE_ROWS} - n) * 60 || ' seconds')::interval AS t) AS x
    """,
]
CHURN_SQL = [
    "UPDATE conversation SET status = 'read', updated_at = now() WHERE id % 7 = 0",
    "DELETE FROM conversation WHERE id % 23 = 0",
    "UPDATE reservations SET status = 'cancelled', cancelled_at = now(), "
    "cancelled_source = 'staff' WHERE status = 'active' AND id % 11 = 0",
    "DELETE FROM reservations WHERE id % 29 = 0",
    "UPDATE customers SET updated_at = now(), customer_name = customer_name || '.' "
    "WHERE wa_id LIKE '%3'",
    "DELETE FROM inbound_message_queue WHERE id % 5 = 0",
    "ANALYZE",
]


def fill() -> float:
    from django.db import connection

    started = time.monotonic()
    with connection.cursor() as cursor:
        for sql in FILL_SQL + CHURN_SQL:
            cursor.execute(sql.replace("%", "%%") if "%s" in sql else sql)
    return time.monotonic() - started


def plain_urlconf() -> str:
    """A urlconf with the project's URLs plus /plain-admin/: default ModelAdmins, same models."""
    from django.contrib import admin
    from django.urls import path

    from config import urls as project_urls
    from customers.models import Customer
    from messaging.models import Conversation, InboundMessage
    from reservations.models import Reservation

    plain = admin.AdminSite(name="plain")
    for model in (Conversation, Reservation, Customer, InboundMessage):
        plain.register(model, admin.ModelAdmin)
    module = types.ModuleType("bench_admin_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("plain-admin/", plain.urls),
        *project_urls.urlpatterns,
    ]
    sys.modules[module.__name__] = module
    return module.__name__


def measure(client: Any, url: str, runs: int) -> tuple[float, float]:
    """(median ms, p95 ms) of `runs` warm GETs."""
    for _ in range(3):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
    return common.quantile(samples, 0.5), common.quantile(samples, 0.95)


def count_queries(client: Any, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the big database")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept big database")
    args = parser.parse_args()
    server = common.server_url()
    if args.reuse:
        url = common.database_url(server, BIG_DB)
    else:
        url = common.recreate_database(server, BIG_DB)
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        ALLOWED_HOSTS="testserver,127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        WHATSAPP_SANDBOX="false",
        LOG_LEVEL="ERROR",
    )
    sys.path.insert(0, str(common.ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from customers.models import Customer
    from messaging.models import Conversation, InboundMessage
    from reservations.models import Reservation

    # Manifest storage needs collectstatic; the page bodies are what we time, not static files.
    settings.STORAGES["staticfiles"] = {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
    }
    try:
        fill_seconds = 0.0
        if not args.reuse:
            call_command("migrate", verbosity=0)
            fill_seconds = fill()
        settings.ROOT_URLCONF = plain_urlconf()
        from django.urls import clear_url_caches

        clear_url_caches()
        user, _ = get_user_model().objects.get_or_create(
            username="bench", defaults={"is_staff": True, "is_superuser": True}
        )
        client = Client()
        client.force_login(user)
        plain_admins = {
            model: admin_obj
            for site in admin.sites.all_sites
            if site.name == "plain"
            for model, admin_obj in site._registry.items()
        }
        models = [
            ("conversation", Conversation),
            ("reservation", Reservation),
            ("customer", Customer),
            ("inbound queue", InboundMessage),
        ]
        rows = []
        for label, model in models:
            path = f"{model._meta.app_label}/{model._meta.model_name}/"
            ours, plain = admin.site._registry[model], plain_admins[model]
            figures = {}
            for name, model_admin, prefix in (
                ("ours", ours, "/admin/"),
                ("plain", plain, "/plain-admin/"),
            ):
                original = model_admin.list_per_page
                queries = []
                for size in (100, 400):
                    setattr(model_admin, "list_per_page", size)  # noqa: B010 (a ClassVar in the stubs)
                    queries.append(count_queries(client, prefix + path))
                setattr(model_admin, "list_per_page", original)  # noqa: B010
                figures[name] = (*measure(client, prefix + path, args.runs), *queries)
            o, p = figures["ours"], figures["plain"]
            rows.append(
                f"| {label} admin | {o[0]:.0f} / {o[1]:.0f} | {o[2]} / {o[3]} "
                f"| {p[0]:.0f} / {p[1]:.0f} | {p[2]} / {p[3]} | {p[1] / o[1]:.1f}x |"
            )
        month_start = time.strftime("%Y-%m-01")
        staff_pages = [
            ("inbox", "/inbox/"),
            ("inbox, needs staff", "/inbox/?needs_staff=1"),
            ("schedule day", "/schedule/"),
            ("schedule week", "/schedule/week/"),
            ("conversation admin, status=read", f"{CONVERSATIONS_URL}?status__exact=read"),
            ("conversation admin, type=text", f"{CONVERSATIONS_URL}?message_type=text"),
            ("conversation admin, search a number", f"{CONVERSATIONS_URL}?q=966500012345"),
            ("conversation admin, search a name", f"{CONVERSATIONS_URL}?q=Customer%2012345"),
            ("reservation admin, search a number", f"{RESERVATIONS_URL}?q=966500012345"),
            ("reservation admin, from this month", f"{RESERVATIONS_URL}?date__gte={month_start}"),
        ]
        for label, page in staff_pages:
            median, p95 = measure(client, page, args.runs)
            rows.append(
                f"| {label} | {median:.0f} / {p95:.0f} | {count_queries(client, page)} | | | |"
            )
        from django.db import connection

        with connection.cursor() as cursor:
            sizes = []
            for table in ("conversation", "reservations", "customers", "inbound_message_queue"):
                cursor.execute(
                    f"SELECT count(*), n_dead_tup FROM {table}, pg_stat_user_tables "
                    "WHERE relname = %s GROUP BY n_dead_tup",
                    [table],
                )
                total, dead = cursor.fetchone()
                sizes.append(f"{table} {total:,} rows ({dead:,} dead)")
        body = "\n".join(
            [
                f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
                f"on {common.machine()}.",
                f"Data after churn: {'; '.join(sizes)}. Filled in {fill_seconds:.0f} s "
                "(generate_series), then 1 in 7 conversations updated, 1 in 23 deleted, 1 in 11 "
                "active reservations cancelled, 1 in 29 deleted, 1 in 5 queue rows deleted; "
                "ANALYZE, no VACUUM.",
                f"Warm GETs through Django's test client as a superuser, {args.runs} per page "
                "(3 warm-up); the default admin is a plain `ModelAdmin` (default paginator, "
                "`__str__` column, ordering by -pk) on a throwaway AdminSite over the same data.",
                "",
                "| page | ours median / p95 ms | ours queries at 100 / 400 rows | default admin "
                "median / p95 ms | default queries at 100 / 400 | p95 ratio |",
                "|---|---|---|---|---|---|",
                *rows,
                "",
                "Targets: changelist p95 <= 300 ms, >= 4x faster than the default admin, query "
                "count independent of the page size. Command: "
                "`DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres "
                ".venv/bin/python bench/bench_admin.py` (part of `make bench`).",
            ]
        )
        common.write_section(SECTION, body)
        print(body)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            common.recreate_database(server, BIG_DB, drop_only=True)


if __name__ == "__main__":
    main()
