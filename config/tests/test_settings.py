import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

BASE_DIR = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x7!k2-production-like-secret-key-with-enough-entropy-0123456789abcdef",
    "ALLOWED_HOSTS": "clinic.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://clinic.example.com",
    "WHATSAPP_VERIFY_TOKEN": "verify",
    "WHATSAPP_APP_SECRET": "secret",
    "WHATSAPP_ACCESS_TOKEN": "token",
    "WHATSAPP_PHONE_NUMBER_ID": "123",
    "WHATSAPP_SANDBOX": "false",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A child process, so that settings are read afresh from this environment (no .env values
    # leak in: every variable the test cares about is set explicitly).
    full_env = {**os.environ, **env}
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_values():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    env = {**PRODUCTION_ENV, "SECRET_KEY": ""}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_missing_whatsapp_settings_are_reported_by_check():
    env = {**PRODUCTION_ENV, "WHATSAPP_APP_SECRET": "", "WHATSAPP_ACCESS_TOKEN": ""}
    result = run_manage("check", env=env)
    output = result.stdout + result.stderr
    assert "WHATSAPP_APP_SECRET is not set" in output
    assert "WHATSAPP_ACCESS_TOKEN is not set" in output
    assert "WHATSAPP_VERIFY_TOKEN" not in output


def test_whatsapp_check_warns_per_missing_setting(settings):
    from messaging.checks import check_whatsapp_settings

    settings.WHATSAPP_APP_SECRET = ""
    settings.WHATSAPP_PHONE_NUMBER_ID = ""
    messages = check_whatsapp_settings()
    assert [m.id for m in messages] == ["messaging.W002", "messaging.W004"]
    assert all(m.level == 30 for m in messages)  # WARNING


def test_whatsapp_check_is_silent_when_all_set(settings):
    from messaging.checks import check_whatsapp_settings

    for name in ("VERIFY_TOKEN", "APP_SECRET", "ACCESS_TOKEN", "PHONE_NUMBER_ID"):
        setattr(settings, f"WHATSAPP_{name}", "set")
    assert check_whatsapp_settings() == []


def test_whatsapp_api_base_url_defaults_to_graph_v23():
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.WHATSAPP_API_BASE_URL)",
        env={**PRODUCTION_ENV, "WHATSAPP_API_BASE_URL": ""},
    )
    assert result.stdout.splitlines()[-1] == "https://graph.facebook.com/v23.0", result.stderr


def test_time_zone_and_languages():
    assert settings.USE_TZ is True
    assert settings.TIME_ZONE  # the clinic's zone, Asia/Riyadh unless configured
    assert {code for code, _ in settings.LANGUAGES} == {"en", "ar"}
    assert "django.middleware.locale.LocaleMiddleware" in settings.MIDDLEWARE


def test_django_q_is_configured_deliberately():
    q = settings.Q_CLUSTER
    assert q["timeout"] < q["retry"], "a task running past `retry` would be run twice"
    assert q["max_attempts"] >= 1, "0 retries a failing task forever"
    assert q["save_limit"] != 250, "the default bookkeeping caps the ORM broker"
    assert q.get("orm") == "default" or q.get("redis")


@pytest.mark.django_db
def test_no_missing_migrations():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_creates_a_staff_login(settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "Demo staff login: demo / demo-clinic" in out
    assert "Demo receptionist login: frontdesk / frontdesk-clinic" in out
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    login = RequestFactory().post("/admin/login/")  # django-axes needs the request
    user = authenticate(login, username="demo", password="demo-clinic")
    assert user is not None
    assert user.is_staff
    assert user.is_superuser
    desk = authenticate(login, username="frontdesk", password="frontdesk-clinic")
    assert desk is not None
    assert desk.is_staff
    assert not desk.is_superuser
    assert list(desk.groups.values_list("name", flat=True)) == ["Receptionist"]


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=false"):
        call_command("seed_demo")


def test_sandbox_refuses_to_start_without_debug():
    env = {**PRODUCTION_ENV, "WHATSAPP_SANDBOX": "true"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "WHATSAPP_SANDBOX=true is only allowed with DEBUG=true" in result.stderr


def test_an_unknown_retention_mode_refuses_to_start():
    env = {**PRODUCTION_ENV, "CONVERSATION_RETENTION_MODE": "shred"}
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert 'CONVERSATION_RETENTION_MODE must be "anonymise" or "delete"' in result.stderr


def settings_value(name: str, env: dict[str, str]) -> str:
    code = (
        f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


SANDBOX_ENV = {"DEBUG": "true", "WHATSAPP_SANDBOX": "true", "WHATSAPP_API_BASE_URL": ""}


@pytest.mark.parametrize(
    ("host", "port", "base"),
    [
        ("127.0.0.1", "8101", "http://127.0.0.1:8101"),
        ("0.0.0.0", "9000", "http://127.0.0.1:9000"),  # noqa: S104
        ("localhost", "8000", "http://localhost:8000"),
        ("::1", "8102", "http://[::1]:8102"),
    ],
)
def test_the_sandbox_graph_api_follows_the_servers_host_and_port(host, port, base):
    env = {**SANDBOX_ENV, "HOST": host, "PORT": port}
    assert settings_value("WHATSAPP_API_BASE_URL", env) == f"{base}/sandbox/graph/v23.0"
    assert settings_value("DEV_SERVER_URL", env) == base


def test_the_address_make_run_serves_on_is_an_allowed_host():
    env = {**SANDBOX_ENV, "HOST": "192.168.1.20", "ALLOWED_HOSTS": "127.0.0.1,localhost"}
    assert "192.168.1.20" in settings_value("ALLOWED_HOSTS", env)


def test_check_warns_when_the_sandbox_graph_api_is_on_another_port():
    env = {
        **SANDBOX_ENV,
        "PORT": "8101",
        "WHATSAPP_API_BASE_URL": "http://127.0.0.1:8000/sandbox/graph/v23.0",
    }
    result = run_manage("check", env=env)
    assert "messaging.W010" in result.stderr + result.stdout
    assert "port 8000, but this server runs on port 8101" in result.stderr + result.stdout
    env["PORT"] = "8000"
    result = run_manage("check", env=env)
    assert "messaging.W010" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("env", "prepare", "no_cursors"),
    [
        ({}, "5", "False"),
        (
            {"DATABASE_PREPARED_STATEMENTS": "false", "DATABASE_SERVER_SIDE_CURSORS": "false"},
            "None",
            "True",
        ),
    ],
    ids=["direct", "pgbouncer-transaction-mode"],
)
def test_postgresql_behind_a_transaction_pooler(env, prepare, no_cursors):
    env = {"DATABASE_URL": "postgres://clinic@127.0.0.1:6432/clinic", **env}
    db = "DATABASES['default']"
    assert settings_value(f"{db}['OPTIONS']['prepare_threshold']", env) == prepare
    assert settings_value(f"{db}['DISABLE_SERVER_SIDE_CURSORS']", env) == no_cursors


def test_redis_url_puts_django_q_on_redis():
    env = {**PRODUCTION_ENV, "REDIS_URL": "redis://127.0.0.1:6379/15"}
    code = (
        "from django.conf import settings; from django_q.brokers import get_broker; "
        "print(type(get_broker()).__name__, 'orm' in settings.Q_CLUSTER)"
    )
    result = run_manage("shell", "-c", code, env=env)
    assert result.stdout.splitlines()[-1].split() == ["Redis", "False"], result.stderr


def test_redis_url_without_the_redis_client_says_what_to_install():
    env = {**os.environ, **PRODUCTION_ENV, "REDIS_URL": "redis://127.0.0.1:6379/15"}
    code = "import sys; sys.modules['redis'] = None; import django; django.setup()"
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode != 0
    assert "pip install '.[redis]'" in result.stderr


def test_the_language_model_is_off_by_default_and_a_partial_setting_warns(settings):
    from messaging.bot.understanding import llm
    from messaging.checks import check_language_model_settings

    assert not llm.is_enabled()
    assert check_language_model_settings() == []
    settings.LLM_BASE_URL = "http://localhost:11434/v1"
    settings.LLM_MODEL = "qwen2.5"
    [warning] = check_language_model_settings()
    assert warning.id == "messaging.W020"
    assert "LLM_API_KEY" in warning.msg
    settings.LLM_API_KEY = "ollama"
    assert check_language_model_settings() == []
    assert llm.is_enabled()


def test_check_warns_when_the_fake_model_is_used_without_the_sandbox(settings):
    from messaging.checks import check_language_model_settings

    settings.LLM_BASE_URL = "http://127.0.0.1:8000/sandbox/llm/v1"
    settings.LLM_API_KEY = settings.LLM_MODEL = "sandbox"
    settings.WHATSAPP_SANDBOX = True
    assert check_language_model_settings() == []
    settings.WHATSAPP_SANDBOX = False
    assert [m.id for m in check_language_model_settings()] == ["messaging.W021"]
