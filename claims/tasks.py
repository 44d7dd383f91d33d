"""Celery tasks: thin, take ids, return quietly if the row is gone (design.md §4)."""

import logging
import smtplib
from collections.abc import Sequence

from celery import shared_task
from django.apps import apps
from django.db import OperationalError, connection, models
from django.utils import timezone

from claims.deadline_services import deadlines_sweep, open_claims_deadlines_recompute
from claims.import_services import import_batch_run
from claims.models import RoutingJob
from claims.notification_services import notification_email_send
from claims.routing_services import routing_job_run, routing_job_start
from config.postgres_copy import statistics_refresh

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def routing_job_run_task(self, job_id: int) -> None:
    routing_job_run(job_id=job_id)


@shared_task
def handovers_reroute_task() -> int:
    """Daily: re-route open claims so that interim handling ends on the handover day, with the
    decision date today (domain.md §4, re-routing)."""
    job = routing_job_start(
        kind=RoutingJob.Kind.HANDOVER, actor=None, decision_date=timezone.localdate()
    )
    return job.pk


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def deadlines_sweep_task(batch_size: int = 5000) -> dict:
    """Daily: reminders due and deadlines missed (design.md §4)."""
    result = deadlines_sweep(batch_size=batch_size)
    return {"reminded": result.reminded, "missed": result.missed}


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def service_levels_apply_task(actor_id: int | None, reason: str) -> int:
    """After a service level changed: every open claim's deadlines under the rules in force."""
    from django.contrib.auth import get_user_model

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return open_claims_deadlines_recompute(actor=actor, reason=reason)


@shared_task(bind=True, max_retries=5)
def notifications_email_task(self, notification_ids: list[int]) -> None:
    """E-mail each notification. One that fails for a while (a server or connection down) is
    retried with backoff, alone with the others that failed; the rest of the batch goes on, and
    an address refused for good is recorded and not retried."""
    failed, first_error = [], None
    for notification_id in notification_ids:
        try:
            notification_email_send(notification_id=notification_id)
        except (smtplib.SMTPException, ConnectionError, TimeoutError, OSError) as error:
            failed.append(notification_id)
            first_error = first_error or error
    if failed:
        raise self.retry(
            args=(failed,), exc=first_error, countdown=min(600, 2 ** (self.request.retries + 1))
        )


@shared_task(
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def import_batch_run_task(self, batch_id: int) -> None:
    """A large import (design.md §3.1); a rerun resumes after the rows already committed."""
    import_batch_run(batch_id=batch_id, last_attempt=self.request.retries >= self.max_retries)


@shared_task
def statistics_refresh_task(model_labels: list[str], changed: int) -> list[str]:
    """After a bulk write (a queued import, a re-routing job): ANALYZE the tables it wrote if it
    changed a tenth or more of the first one's rows."""
    return statistics_refresh([apps.get_model(label) for label in model_labels], changed=changed)


def statistics_refresh_later(
    models_written: Sequence[type[models.Model]], *, changed: int, after: str
) -> None:
    """Queue statistics_refresh_task: upkeep apart from the bulk write, which is done and
    committed whatever becomes of this (`after` names it in the log)."""
    if connection.vendor != "postgresql" or changed <= 0:
        return
    try:
        statistics_refresh_task.delay([model._meta.label for model in models_written], changed)
    except Exception:  # the broker gone: autovacuum will come round
        logger.warning("%s: statistics refresh not queued", after, exc_info=True)
