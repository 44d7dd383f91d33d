"""What the claims tests share: API clients, a practice with a GP for imports to name, and a
real Celery worker process for the tests marked `broker`."""

import datetime
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.conftest import client_for
from tests.factories import MemberFactory, MembershipFactory, PracticeFactory

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def api(importer):
    """The importer's API client."""
    return client_for(importer)


@pytest.fixture
def practice_and_gp():
    """Practice Y01234 and GP GMC:1234567, an MPS member since 2010: what claim_record names."""
    practice = PracticeFactory(ods_code="Y01234")
    gp = MemberFactory(registration_number="1234567")
    MembershipFactory(member=gp, start_date=datetime.date(2010, 1, 1))  # MPS
    return practice, gp


@pytest.fixture
def celery_worker_process():
    """A worker process against the test database and the real broker. Use it from a test
    marked django_db(transaction=True, serialized_rollback=True), so the worker sees its rows.
    The test's own queue is private to this run: nothing queued by another run is picked up."""
    queue = f"bulk-test-{os.getpid()}"
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST'] or '127.0.0.1'}:"
            f"{database['PORT'] or 5432}/{database['NAME']}"
        ),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "--concurrency=1",
            "--pool=solo",
            "--loglevel=warning",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    worker.queue = queue
    yield worker
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
