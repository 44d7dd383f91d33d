import pytest
from rest_framework.test import APIClient

from claims.models import Notification
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def notify(user, key: str, claim=None) -> Notification:
    return Notification.objects.create(
        recipient=user, claim=claim, kind="deadline_reminder", message="Due soon", dedupe_key=key
    )


def test_each_person_sees_only_their_own_notifications(mps_handler, mdu_handler):
    claim = ClaimFactory()
    notify(mps_handler, "a", claim)
    notify(mdu_handler, "b")
    mine = api(mps_handler).get("/api/v1/notifications/").json()
    assert [(n["claim"], n["read"]) for n in mine] == [(claim.reference, False)]


def test_marking_read_and_the_unread_filter(mps_handler):
    first, second = notify(mps_handler, "a"), notify(mps_handler, "b")
    client = api(mps_handler)
    response = client.post(f"/api/v1/notifications/{first.pk}/read/")
    assert response.status_code == 200
    assert response.json()["read"] is True
    unread = client.get("/api/v1/notifications/?unread=true").json()
    assert [n["id"] for n in unread] == [second.pk]


def test_somebody_elses_notification_is_a_404(mps_handler, mdu_handler):
    theirs = notify(mdu_handler, "a")
    response = api(mps_handler).post(f"/api/v1/notifications/{theirs.pk}/read/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_notifications_need_authentication():
    assert APIClient().get("/api/v1/notifications/").status_code in (401, 403)
