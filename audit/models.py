from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models


class AuditEvent(models.Model):
    """One change made through a service: who, when, what, before and after.

    Written by every service that changes state, in the same transaction as the change, so a
    rolled-back change leaves no audit row and a committed one always has its row. Rows are never
    edited; `subject_type`/`subject_id` name the object without a foreign key so the trail outlives
    what it describes.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Who acted is part of the record (docs/decisions.md, "Who acted is kept"): an account that
    # has acted cannot be deleted, only deactivated. No database constraint: imports write two
    # events a claim, and checking each against auth_user cost the storing connection more than
    # a tenth of its time (make bench); every id written is the signed-in user's.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        db_constraint=False,
    )
    # For changes no person made (a nightly re-route, an import task): says which process did.
    actor_label = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64)
    subject_id = models.CharField(max_length=64)
    subject_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "at"], name="audit_subject_at"),
            models.Index(fields=["action", "at"], name="audit_action_at"),
        ]

    def __str__(self) -> str:
        user = self.acting_account
        who = user.get_username() if user else self.actor_label or "system"
        return f"{self.at:%Y-%m-%d %H:%M} {who} {self.action} {self.subject_repr}"

    @property
    def acting_account(self):
        """The account that acted, or None: no person (actor_label says which process), or an
        id naming no account, which the column, without a database constraint, can hold."""
        try:
            return self.actor
        except ObjectDoesNotExist:
            return None
