"""The claim list's filters (design.md §3.3 and issue 6). Each one is a selector call over an
indexed column, so filtering a million claims never reads the whole table; none of them asks the
database for the distinct values of a column (Django's default for a plain field filter)."""

import datetime
from urllib.parse import parse_qsl

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils import timezone

from claims.selectors import POSSIBLE_DUPLICATE, claims_filter, claims_triage_queue
from handlers.models import HandlerOrganisation
from schemes.models import Scheme

NOBODY = "-"


class SchemeFilter(admin.SimpleListFilter):
    """Any segment of the current decision (design.md §3.3), through ClaimSegment's index."""

    title = "scheme"
    parameter_name = "scheme"

    def lookups(self, request, model_admin):
        return [
            (code, code) for code in Scheme.objects.order_by("code").values_list("code", flat=True)
        ]

    def queryset(self, request, queryset):
        return claims_filter(queryset, scheme=self.value()) if self.value() else queryset


def _handler_lookups():
    codes = list(HandlerOrganisation.objects.order_by("code").values_list("code", flat=True))
    return [(code, code) for code in codes] + [("PROVIDER", "PROVIDER (own indemnifier)")]


class LeadHandlerFilter(admin.SimpleListFilter):
    title = "lead handler"
    parameter_name = "lead_handler"

    def lookups(self, request, model_admin):
        return [*_handler_lookups(), (NOBODY, "Nobody")]

    def queryset(self, request, queryset):
        if self.value() == NOBODY:
            return queryset.filter(lead_handler="")
        return claims_filter(queryset, lead_handler=self.value()) if self.value() else queryset


class HandlerFilter(admin.SimpleListFilter):
    """Any organisation handling a part (the organisations that can see the claim)."""

    title = "handled (any part) by"
    parameter_name = "handler"

    def lookups(self, request, model_admin):
        return _handler_lookups()

    def queryset(self, request, queryset):
        return claims_filter(queryset, handler=self.value()) if self.value() else queryset


class FlagFilter(admin.SimpleListFilter):
    title = "flag"
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        return [
            ("APPORTIONMENT_REQUIRED", "Apportionment required"),
            ("MANUAL_REVIEW", "Manual review"),
            (POSSIBLE_DUPLICATE, "Possible duplicate"),
        ]

    def queryset(self, request, queryset):
        return claims_filter(queryset, flag=self.value()) if self.value() else queryset


class TriageFilter(admin.SimpleListFilter):
    """The triage queue: open claims that are UNDETERMINED or need manual review first, then
    possible duplicates, oldest first in each (ClaimAdmin.get_ordering orders it)."""

    title = "work queue"
    parameter_name = "triage"

    def lookups(self, request, model_admin):
        return [("queue", "Triage queue")]

    def queryset(self, request, queryset):
        return claims_triage_queue(queryset) if self.value() == "queue" else queryset


class DeadlineFilter(admin.SimpleListFilter):
    title = "deadlines"
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [
            ("overdue", "Overdue (a deadline missed)"),
            ("7", "One due within 7 days"),
            ("14", "One due within 14 days"),
            ("30", "One due within 30 days"),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "overdue":
            return claims_filter(queryset, overdue=True)
        if value in ("7", "14", "30"):
            until = timezone.localdate() + datetime.timedelta(days=int(value))
            return claims_filter(queryset, deadline_due_before=until)
        return queryset


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned to"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", "Me"), ("nobody", "Nobody")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assigned_to=request.user)
        if self.value() == "nobody":
            return queryset.filter(assigned_to__isnull=True)
        return queryset


class DateRangeFilter(admin.ListFilter):
    """Two date boxes, from and to (inclusive), for dates that lie years back, where Django's
    "past 7 days, this month" choices are of no use."""

    template = "admin/claims/claim/date_range_filter.html"
    after_parameter = ""
    before_parameter = ""

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.dates: dict[str, datetime.date] = {}
        for name in (self.after_parameter, self.before_parameter):
            if name not in params:
                continue
            value = params.pop(name)
            value = value[-1] if isinstance(value, list) else value
            self.used_parameters[name] = value
            if not value:
                continue
            try:
                self.dates[name] = datetime.date.fromisoformat(value)
            except ValueError:
                raise IncorrectLookupParameters(f"{value!r} is not a date (YYYY-MM-DD).") from None

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.after_parameter, self.before_parameter]

    def queryset(self, request, queryset):
        return claims_filter(queryset, **self.dates) if self.dates else queryset

    def choices(self, changelist):
        keep = changelist.get_query_string(remove=[*self.expected_parameters(), "p"])
        yield {
            "after_name": self.after_parameter,
            "before_name": self.before_parameter,
            "after": self.used_parameters.get(self.after_parameter, ""),
            "before": self.used_parameters.get(self.before_parameter, ""),
            "hidden": parse_qsl(keep.lstrip("?"), keep_blank_values=True),
            "clear_url": keep,
            "selected": bool(self.dates),
        }


class IncidentDateFilter(DateRangeFilter):
    """A single incident date or any part of a range (claims_filter)."""

    title = "incident date"
    after_parameter = "incident_date_after"
    before_parameter = "incident_date_before"


class NotifiedFilter(DateRangeFilter):
    title = "notified on"
    after_parameter = "notified_after"
    before_parameter = "notified_before"
