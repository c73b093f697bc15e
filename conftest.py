"""Shared fixtures. Tests marked `postgres` run only when DATABASE_URL points at PostgreSQL;
tests marked `browser` only where Playwright and chromium are installed (`make test-browser`).

With REDIS_URL set (`make test-redis`, CI's Redis pass) django-q2 uses Redis: the run takes a
queue of its own there, and every test is skipped, with the reason, if no Redis answers.
"""

import importlib.util
import os
import shutil

import pytest
from django.conf import settings
from django.db import connection


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)
    if any("browser" in item.keywords for item in items) and (problem := browser_problem()):
        if os.environ.get("BROWSER_TESTS") == "required":  # `make test-browser`, CI
            raise pytest.UsageError(f"the browser tests cannot run: {problem}")
        skip = pytest.mark.skip(reason=f"browser test: {problem}")
        for item in items:
            if "browser" in item.keywords:
                item.add_marker(skip)
    if "redis" in settings.Q_CLUSTER and (problem := redis_problem()):
        skip = pytest.mark.skip(reason=f"the Redis pass needs Redis at REDIS_URL: {problem}")
        for item in items:
            item.add_marker(skip)


def chromium_path() -> str:
    """Debian's chromium (`apt-get install chromium`), or CHROMIUM_PATH: never a downloaded one."""
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def browser_problem() -> str | None:
    """None if the browser tests can run, else what is missing."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -e '.[dev]')"
    if not os.access(chromium_path(), os.X_OK):
        return f"no chromium at {chromium_path()} (apt-get install chromium, or set CHROMIUM_PATH)"
    return None


def redis_problem() -> str | None:
    """None if the broker's Redis answers, else what went wrong."""
    from django_q.brokers import get_broker

    try:
        get_broker().connection.ping()
    except Exception as exc:  # refused, timed out, wrong password: all mean "no Redis here"
        return f"{settings.Q_CLUSTER['redis']} does not answer ({exc})"
    return None


@pytest.fixture(scope="session", autouse=True)
def own_redis_queue():
    """On Redis, this run's own queue (`django_q:<name>-test-<pid>:q`), deleted at the end, so
    that runs sharing a Redis server never take each other's tasks. Workers the tests start
    inherit the name through Q_CLUSTER_NAME."""
    if "redis" not in settings.Q_CLUSTER:
        yield
        return
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    name = f"{settings.Q_CLUSTER['name']}-test-{os.getpid()}"
    Conf.PREFIX = Conf.CLUSTER_NAME = name
    Conf.Q_STAT = f"django_q:{name}:cluster"
    os.environ["Q_CLUSTER_NAME"] = name
    yield
    get_broker().delete_queue()


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="reception", password="pw-reception-1", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client
