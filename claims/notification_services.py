"""Telling people: notifications in the inbox and by e-mail, each exactly once (a unique dedupe
key), and only to people who may see the claim (design.md §2)."""

import datetime
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
    """Store the messages not already stored (by dedupe key) and queue their e-mails after the
    transaction commits; returns the ids of the new ones."""
    if not messages:
        return []
    keys = [m.dedupe_key for m in messages]
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
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    new_ids = list(
        Notification.objects.filter(dedupe_key__in=keys, email_attempts=0, email_status="pending")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if new_ids:
        from claims.tasks import notifications_email_task

        transaction.on_commit(lambda: notifications_email_task.delay(new_ids))
    return new_ids


def notification_email_send(*, notification_id: int) -> None:
    """Send one notification's e-mail and record the outcome. Raises on a transient failure so
    the task retries; a notification already sent is not sent again."""
    notification = (
        Notification.objects.select_related("recipient", "claim").filter(pk=notification_id).first()
    )
    if notification is None or notification.email_status == Notification.EmailStatus.SENT:
        return
    if not notification.recipient.email:
        Notification.objects.filter(pk=notification.pk).update(
            email_status=Notification.EmailStatus.NO_ADDRESS
        )
        return
    subject = notification.get_kind_display()
    if notification.claim_id:
        subject = f"{subject}: {notification.claim.reference}"
    Notification.objects.filter(pk=notification.pk).update(
        email_attempts=notification.email_attempts + 1
    )
    try:
        send_mail(subject, notification.message, None, [notification.recipient.email])
    except Exception as error:
        Notification.objects.filter(pk=notification.pk).update(
            email_status=Notification.EmailStatus.FAILED, email_error=str(error)[:300]
        )
        raise
    Notification.objects.filter(pk=notification.pk).update(
        email_status=Notification.EmailStatus.SENT, email_error=""
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
