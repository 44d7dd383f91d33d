"""E-mailing notifications: each once, whatever the workers and the mail server do; an address
refused for good holds up nobody else; a claim that moved away is not e-mailed about."""

import smtplib
import threading
import time
from unittest import mock

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import TestCase

from claims.models import ClaimHandling, Notification
from claims.notification_services import Message, notification_email_send, notifications_create
from claims.tasks import notifications_email_task
from handlers.models import HandlerOrganisation
from tests.factories import UserFactory
from tests.portal.conftest import handled_claim

real_send_mail = mail.send_mail


def people(*names):
    return [UserFactory(username=name, email=f"{name}@example.org") for name in names]


def told(*users, kind="import_finished", claim=None):
    return [
        Message(user.pk, claim and claim.pk, kind, f"For {user.username}", f"test:{kind}:{user.pk}")
        for user in users
    ]


def outcomes():
    return {
        n.recipient.username: (n.email_status, n.email_attempts)
        for n in Notification.objects.select_related("recipient")
    }


@pytest.mark.django_db
def test_an_address_refused_for_good_is_recorded_and_the_rest_of_the_batch_is_sent():
    bad, good = people("bad", "good")

    def refusing(subject, message, sender, to, **kwargs):
        if to == ["bad@example.org"]:
            raise smtplib.SMTPRecipientsRefused({"bad@example.org": (550, b"No such user")})
        return real_send_mail(subject, message, sender, to, **kwargs)

    ids = queued_by(told(bad, good))
    with mock.patch("claims.notification_services.send_mail", refusing):
        notifications_email_task.apply(args=[ids])  # nothing to retry: it raises nothing
    assert outcomes() == {"bad": ("failed", 1), "good": ("sent", 1)}
    assert "No such user" in Notification.objects.get(recipient=bad).email_error
    assert [m.to for m in mail.outbox] == [["good@example.org"]]


def queued_by(messages) -> list[int]:
    """What notifications_create queues for the e-mail worker once its transaction commits."""
    with (
        mock.patch("claims.tasks.notifications_email_task.delay") as delay,
        TestCase.captureOnCommitCallbacks(execute=True),
        transaction.atomic(),
    ):
        notifications_create(messages)
    [(ids,), _] = delay.call_args
    return ids


@pytest.mark.django_db
def test_a_server_away_for_a_while_retries_only_what_failed():
    first, second, third = people("first", "second", "third")
    calls = []

    def flaky(subject, message, sender, to, **kwargs):
        calls.append(to[0])
        if to == ["second@example.org"] and calls.count("second@example.org") == 1:
            raise ConnectionRefusedError("mail server restarting")
        return real_send_mail(subject, message, sender, to, **kwargs)

    ids = queued_by(told(first, second, third))
    with mock.patch("claims.notification_services.send_mail", flaky):
        # Run as a worker would (eagerly, the retry follows at once, without its wait).
        result = notifications_email_task.apply(args=[ids], throw=False)
    assert result.state == "SUCCESS"
    assert calls == [
        "first@example.org",
        "second@example.org",
        "third@example.org",
        "second@example.org",
    ]
    assert outcomes() == {"first": ("sent", 1), "second": ("sent", 2), "third": ("sent", 1)}


@pytest.mark.django_db
def test_an_address_that_keeps_failing_is_given_up_after_the_last_retry(monkeypatch):
    # Celery applies an eager task's retries without the first call's throw=False.
    monkeypatch.setitem(notifications_email_task.app.conf, "task_eager_propagates", False)
    [user] = people("down")
    ids = queued_by(told(user))
    with mock.patch(
        "claims.notification_services.send_mail", side_effect=TimeoutError("no answer")
    ) as send:
        result = notifications_email_task.apply(args=[ids], throw=False)
    assert result.state == "FAILURE"
    assert send.call_count == 1 + notifications_email_task.max_retries
    assert outcomes() == {"down": ("failed", 6)}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_given_one_notification_send_it_once():
    [user] = people("once")
    [notification_id] = queued_by(told(user))
    sent = []
    start = threading.Barrier(2)

    def slow(subject, message, sender, to, **kwargs):
        sent.append(to)
        time.sleep(0.3)  # the other worker arrives while this one is sending

    def worker():
        try:
            start.wait()
            notification_email_send(notification_id=notification_id)
        finally:
            connection.close()

    with mock.patch("claims.notification_services.send_mail", slow):
        workers = [threading.Thread(target=worker) for _ in range(2)]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
    assert sent == [["once@example.org"]]
    assert outcomes() == {"once": ("sent", 1)}
    notification_email_send(notification_id=notification_id)  # a late redelivery
    assert len(sent) == 1


@pytest.mark.django_db
def test_a_notification_stored_before_is_not_queued_again():
    [user] = people("twice")
    with (
        mock.patch("claims.tasks.notifications_email_task.delay") as delay,
        TestCase.captureOnCommitCallbacks(execute=True),
    ):
        first = notifications_create(told(user))
        second = notifications_create(told(user))
    assert len(first) == 1 and second == []
    delay.assert_called_once_with(first)


@pytest.mark.django_db
def test_no_email_about_a_claim_that_moved_away_but_the_move_itself_is_told(mps_handler):
    mps_handler.email = "handler@mps.example"
    mps_handler.save()
    claim = handled_claim("MPS", assigned_to=mps_handler)
    reminder, moved_out = queued_by(
        told(mps_handler, kind="deadline_reminder", claim=claim)
        + told(mps_handler, kind="claim_moved_out", claim=claim)
    )
    # The handover: NHS Resolution handles it now, before the e-mail worker got to the reminder.
    ClaimHandling.objects.filter(claim=claim).update(
        organisation=HandlerOrganisation.objects.get(code="NHSR")
    )
    notification_email_send(notification_id=reminder)
    notification_email_send(notification_id=moved_out)
    assert Notification.objects.get(pk=reminder).email_status == "withheld"
    assert Notification.objects.get(pk=moved_out).email_status == "sent"
    assert [m.subject for m in mail.outbox] == [
        f"Claim moved away from your organisation: {claim.reference}"
    ]


@pytest.mark.django_db
def test_an_address_refused_for_now_is_retried():
    # smtplib raises SMTPRecipientsRefused for a 4xx answer to RCPT too: greylisting, a full
    # mailbox, a busy server. Those pass; only 550-553 are refusals for good.
    [user] = people("greylisted")
    ids = queued_by(told(user))
    answers = iter([(451, b"4.7.1 Greylisted, try again later"), None])

    def greylisting(subject, message, sender, to, **kwargs):
        answer = next(answers)
        if answer:
            raise smtplib.SMTPRecipientsRefused({to[0]: answer})
        return real_send_mail(subject, message, sender, to, **kwargs)

    with mock.patch("claims.notification_services.send_mail", greylisting):
        notifications_email_task.apply(args=[ids], throw=False)
    assert outcomes() == {"greylisted": ("sent", 2)}
