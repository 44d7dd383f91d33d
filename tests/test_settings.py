"""Settings come from the environment and fail fast, with a message naming the bad value."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_LIKE = {
    "DEBUG": "false",
    "SECRET_KEY": "x7!kq2@vT9#mLp4$wZ8&rN3^cF6*hJ1(eB5)uY0_sD-gA+iO=lE",
    "ALLOWED_HOSTS": "claims.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/claims",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECURE_SSL_REDIRECT"}}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_with_debug_off():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_LIKE)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("DATABASE_URL", "mysql://u@h/db", "DATABASE_URL must be a postgres://"),
        ("CELERY_TASK_TIME_LIMIT", "ten", "CELERY_TASK_TIME_LIMIT='ten' is not a whole number"),
        ("SECRET_KEY", "", "SECRET_KEY must be set when DEBUG is off"),
        ("EMAIL_URL", "smtp://user@host:notaport", "EMAIL_URL is not a valid e-mail URL"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(name, value, message):
    result = manage("check", env={**PRODUCTION_LIKE, name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_with_nothing_configured_the_demo_uses_sqlite_and_eager_celery():
    code = (
        "from django.conf import settings;"
        "print(settings.DATABASES['default']['ENGINE']);"
        "print(settings.CELERY_TASK_ALWAYS_EAGER)"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env["DEBUG"] = "true"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["django.db.backends.sqlite3", "True"]


def test_with_a_broker_configured_celery_is_not_eager(settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert settings.CELERY_TASK_ALWAYS_EAGER is False
