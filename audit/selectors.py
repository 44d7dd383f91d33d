from django.db import models
from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_events_for(*, subject: models.Model) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(
        subject_type=subject._meta.label_lower, subject_id=str(subject.pk)
    ).select_related("actor")
