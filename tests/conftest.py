"""Personas and test-wide switches. Django imports stay inside fixtures so that the pure-logic
tests (routing, deadline arithmetic) also run with `-p no:django`."""

import pytest

PASSWORD = "correct-horse-battery"


def pytest_configure(config):
    """Personas are made for nearly every test: a deliberately slow password hash would be most
    of the suite's time. Production keeps Django's default hashers."""
    if not config.pluginmanager.has_plugin("django"):
        return
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_eager_unless_broker_test(request):
    """Most tests run tasks in-process; tests marked `broker` use the real Redis and a worker."""
    if not request.config.pluginmanager.has_plugin("django"):
        yield
        return
    from config.celery import app as celery_app

    eager = request.node.get_closest_marker("broker") is None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


def client_for(user):
    """An API client signed in with the user's token; None: anonymous."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    if user is not None:
        token = Token.objects.get_or_create(user=user)[0]
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _persona(username: str, role: str, organisation: str, *, staff: bool):
    from handlers.models import HandlerOrganisation
    from tests.factories import HandlerFactory, UserFactory

    user = UserFactory(username=username, is_staff=staff)
    HandlerFactory(
        user=user, role=role, organisation=HandlerOrganisation.objects.get(code=organisation)
    )
    return user


@pytest.fixture
def caseworker(db):
    return _persona("caseworker", "caseworker", "NHSR", staff=True)


@pytest.fixture
def auditor(db):
    return _persona("auditor", "auditor", "NHSR", staff=True)


@pytest.fixture
def mps_handler(db):
    return _persona("mps_handler", "handler", "MPS", staff=False)


@pytest.fixture
def mdu_handler(db):
    return _persona("mdu_handler", "handler", "MDU", staff=False)


@pytest.fixture
def importer(db):
    return _persona("importer", "importer", "MPS", staff=False)


@pytest.fixture
def mps_team_lead(db):
    return _persona("mps_lead", "team_lead", "MPS", staff=False)


# -- the browser tests (portal and admin): Playwright driving Debian's Chromium -----------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser():
    """Chromium under Playwright, for tests marked `browser` that make every row they need in
    fixtures listed before this one (see docs/portal.md: while the browser is open Django keeps
    database connections per async context, so the test body must not use the ORM)."""
    import os
    from pathlib import Path

    # Not a skip: CI installs Chromium (.ci/run), and a missing browser must fail the run.
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def new_page(browser, width=1280, height=900):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(15_000)
    return context.new_page()
