"""The dashboard on the admin index: each figure counted right, shown as a chart drawn by the
Chart.js copy served from static/ (no CDN) and as a table of the same numbers beside it."""

import datetime
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from claims.models import Claim, Deadline, Reserve
from claims.selectors import dashboard_figures
from tests.factories import ClaimFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def known_claims():
    today = timezone.localdate()
    cnsgp = ClaimFactory(schemes="CNSGP", handlers="NHSR", stage="investigation", notified_on=today)
    split = ClaimFactory(
        schemes="CNSGP,ELSGP", handlers="MPS,NHSR", stage="investigation", notified_on=today
    )
    mdu = ClaimFactory(
        schemes="NO_STATE_SCHEME",
        handlers="MDU",
        stage="letter_of_claim",
        notified_on=today - datetime.timedelta(days=400),
    )
    ClaimFactory(
        schemes="CNSGP", handlers="NHSR", status="closed", outcome="closed_with_damages",
        notified_on=today - datetime.timedelta(days=40 * 31),
    )  # fmt: skip
    ClaimFactory(schemes="UNDETERMINED", handlers="NHSR", needs_triage=True)
    for claim, days, status in (
        (cnsgp, 0, "open"), (cnsgp, 6, "open"), (split, 6, "open"), (mdu, 7, "open"),
        (cnsgp, -1, "missed"), (mdu, -30, "open"), (split, -3, "met"),
    ):  # fmt: skip
        Deadline.objects.create(
            claim=claim, kind=f"k{days}{status}", category="internal", status=status,
            due_on=today + datetime.timedelta(days=days), source="test",
        )  # fmt: skip
    Reserve.objects.create(claim=cnsgp, head="damages", amount=Decimal("100.00"))
    Reserve.objects.create(claim=cnsgp, head="damages", amount=Decimal("150.00"))
    Reserve.objects.create(claim=cnsgp, head="defence_costs", amount=Decimal("20.50"))
    Reserve.objects.create(claim=split, head="damages", amount=Decimal("1000.00"))
    return today


def test_figures_count_open_claims_the_week_missed_and_reserves(known_claims):
    today = known_claims
    figures = dashboard_figures(today=today)
    assert figures.open_total == 4
    assert dict(figures.open_by_scheme) == {
        "CNSGP": 2, "ELSGP": 1, "NO_STATE_SCHEME": 1, "UNDETERMINED": 1,
    }  # fmt: skip
    stages = {code: n for code, _, n in figures.open_by_stage}
    assert (stages["investigation"], stages["letter_of_claim"], stages["settled"]) == (2, 2, 0)
    assert dict(figures.by_handler) == {"NHSR": 3, "MPS": 1, "MDU": 1}
    assert [n for _, n in figures.due_this_week] == [1, 0, 0, 0, 0, 0, 2]
    assert figures.due_this_week[0][0] == today
    assert figures.missed == 2  # one marked missed, one still open past its day
    assert dict(figures.reserves_by_scheme) == {
        "CNSGP": Decimal("170.50"),  # the latest damages figure, not both
        "CNSGP + ELSGP": Decimal("1000.00"),
    }
    assert figures.triage == 1
    months = figures.new_per_month
    assert len(months) == 24 and months[-1][0] == today.replace(day=1)
    assert months[-1][1] == 2 and sum(n for _, n in months) == 3  # 40 months ago is left out


def test_the_index_draws_each_chart_with_its_numbers_beside_it(client, caseworker, known_claims):
    client.force_login(caseworker)
    page = client.get(reverse("admin:index")).content.decode()
    for chart in ("scheme", "stage", "months", "deadlines", "handlers", "reserves"):
        assert f'data-source="figures-{chart}"' in page
        assert f'<table class="claims-table" id="figures-{chart}">' in page
    assert re.search(r'scheme=CNSGP&amp;status__exact=open">CNSGP</a></th><td data-value="2"', page)
    assert "£1,000.00" in page and "£170.50" in page
    assert "2 missed" in page


def test_charts_come_from_static_files_never_from_another_site(client, caseworker):
    client.force_login(caseworker)
    page = client.get(reverse("admin:index")).content.decode()
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    assert "/static/chartjs/chart.umd.min.js" in scripts
    assert all(src.startswith("/static/") for src in scripts), scripts
    static = Path(settings.BASE_DIR) / "static" / "chartjs"
    assert (static / "chart.umd.min.js").read_text().startswith("/*!\n * Chart.js v4")
    assert "MIT" in (static / "LICENSE.md").read_text()


def test_figures_are_reused_for_a_minute(client, caseworker, known_claims):
    client.force_login(caseworker)
    client.get(reverse("admin:index"))
    ClaimFactory(schemes="CNSC")
    page = client.get(reverse("admin:index")).content.decode()
    assert ">CNSC</a>" not in page
    from django.core.cache import cache

    cache.clear()
    assert ">CNSC</a>" in client.get(reverse("admin:index")).content.decode()


def test_an_empty_system_shows_an_empty_dashboard(client, caseworker):
    Claim.objects.all().delete()
    client.force_login(caseworker)
    page = client.get(reverse("admin:index")).content.decode()
    assert "No open claims." in page and "No reserves set." in page
