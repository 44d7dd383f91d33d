"""Telling people: notifications in the inbox and by e-mail, each exactly once (a unique dedupe
key), and only to people who may see the claim (design.md §2)."""

import datetime
import smtplib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from claims.models import Claim, Notification
from handlers.models import Handler


@dataclass(frozen=True)
class Message:
    recipient_id: int
    claim_id: int | None
    kind: str
    text: str
    dedupe_key: str


def claim_people(claim_ids: Iterable[int]) -> dict[int, tuple[list[int], list[int]]]:
    """For each claim: (its handler, if assigned and still allowed to see it; the team leads of
    its lead organisation). Two queries for any number of claims."""
    claims = list(
        Claim.objects.filter(pk__in=list(claim_ids)).values_list(
            "pk", "assigned_to_id", "lead_handler", "handlers"
        )
    )
    assigned_ids = {assigned for _, assigned, _, _ in claims if assigned}
    leads = {lead for _, _, lead, _ in claims if lead}
    people = Handler.objects.filter(user__is_active=True).filter(
        user_id__in=assigned_ids
    ) | Handler.objects.filter(
        user__is_active=True, role=Handler.Role.TEAM_LEAD, organisation__code__in=leads
    )
    by_user, team_leads = {}, {}
    for user_id, role, code in people.values_list("user_id", "role", "organisation__code"):
        by_user[user_id] = (role, code)
        if role == Handler.Role.TEAM_LEAD:
            team_leads.setdefault(code, []).append(user_id)
    answer = {}
    for pk, assigned, lead, handlers in claims:
        handling = set(handlers.split(",")) if handlers else set()
        assignee = []
        if assigned in by_user:
            role, code = by_user[assigned]
            if role in (Handler.Role.CASEWORKER, Handler.Role.AUDITOR) or code in handling:
                assignee = [assigned]
        answer[pk] = (assignee, [u for u in team_leads.get(lead, []) if u not in assignee])
    return answer


def notifications_create(messages: Sequence[Message]) -> list[int]:
    """Store the messages not already stored (by dedupe key) and queue the e-mails of those
    this call stored after the transaction commits; returns their ids."""
    if not messages:
        return []
    keys = [m.dedupe_key for m in messages]
    stored = set(
        Notification.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True)
    )
    Notification.objects.bulk_create(
        [
            Notification(
                recipient_id=m.recipient_id,
                claim_id=m.claim_id,
                kind=m.kind,
                message=m.text,
                dedupe_key=m.dedupe_key,
            )
            for m in messages
            if m.dedupe_key not in stored
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    # Only this call's own: a message stored before, whose e-mail may be on its way already, is
    # not queued again. (Two calls at once may both queue one; sending claims the row first.)
    new_ids = list(
        Notification.objects.filter(dedupe_key__in=[k for k in keys if k not in stored])
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if new_ids:
        from claims.tasks import notifications_email_task

        transaction.on_commit(lambda: notifications_email_task.delay(new_ids))
    return new_ids


# Refusals that name this message's recipient: sending again will not change them.
_RECIPIENT_REFUSED_CODES = range(550, 554)


def email_refused_for_good(error: Exception) -> bool:
    """Whether a failed e-mail would fail again however often it were retried (the address
    refused), as against a server or a connection that may be back later."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        # Raised for any refusal, 4xx (greylisted, mailbox busy: try later) as well as 5xx.
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(code in _RECIPIENT_REFUSED_CODES for code in codes)
    return (
        isinstance(error, smtplib.SMTPResponseException)
        and not isinstance(error, smtplib.SMTPSenderRefused)
        and error.smtp_code in _RECIPIENT_REFUSED_CODES
    )


def notification_email_send(*, notification_id: int) -> None:
    """Send one notification's e-mail and record the outcome, exactly once: the row is locked
    while it is sent, so a second worker given the same notification skips it, and one already
    sent (or refused for good) is not sent again. A notification about a claim its recipient
    may no longer see (it moved away) is not e-mailed, unless it says so. Raises a failure
    worth retrying, after recording it."""
    from claims.selectors import claims_visible_among

    failure = None
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient", "claim")
            .filter(
                pk=notification_id,
                email_status__in=[
                    Notification.EmailStatus.PENDING,
                    Notification.EmailStatus.FAILED,
                ],
            )
            .first()
        )
        if notification is None:  # gone, done, or being sent by another worker
            return
        recipient = notification.recipient
        if not recipient.email:
            _email_outcome(notification, Notification.EmailStatus.NO_ADDRESS)
            return
        if (
            notification.claim_id
            and notification.kind != Notification.Kind.CLAIM_MOVED_OUT
            and not claims_visible_among(user=recipient, claim_ids=[notification.claim_id])
        ):
            _email_outcome(notification, Notification.EmailStatus.WITHHELD)
            return
        subject = notification.get_kind_display()
        if notification.claim_id:
            subject = f"{subject}: {notification.claim.reference}"
        try:
            send_mail(subject, notification.message, None, [recipient.email])
        except Exception as error:
            failure = error
            _email_outcome(notification, Notification.EmailStatus.FAILED, error=str(error))
        else:
            _email_outcome(notification, Notification.EmailStatus.SENT)
    if failure is not None and not email_refused_for_good(failure):
        raise failure


def _email_outcome(notification: Notification, status: str, *, error: str = "") -> None:
    attempted = status in (Notification.EmailStatus.SENT, Notification.EmailStatus.FAILED)
    Notification.objects.filter(pk=notification.pk).update(
        email_status=status,
        email_error=error[:300],
        email_attempts=notification.email_attempts + attempted,
    )


def notification_mark_read(*, notification: Notification) -> Notification:
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user) -> int:
    """Mark every unread notification of this person read; returns how many."""
    return Notification.objects.filter(recipient=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )


def deadline_text(kind: str, reference: str, due_on: datetime.date | None) -> str:
    label = kind.replace("_", " ")
    return f"{reference}: {label} is due on {due_on.isoformat() if due_on else 'a date not set'}."
