"""Deadline arithmetic of domain.md §5 as pure Python: no ORM, no clock ("today" is an argument).

Rules are data (`DeadlineRule`): adding an internal service level is adding a row.
"""

import calendar
import datetime
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

Holidays = Callable[[datetime.date], bool]

DAYS, WORKING_DAYS, MONTHS, YEARS = "days", "working_days", "months", "years"
PROTOCOL, COURT, LIMITATION, INTERNAL = "protocol", "court", "limitation", "internal"
OPEN, MET, MISSED, WAIVED = "open", "met", "missed", "waived"
# CPR 2.8(4): a period of five days or less excludes weekends and bank holidays.
SHORT_PERIOD_DAYS = 5
LIMITATION_YEARS = 3  # Limitation Act 1980 s.11(4)
MAJORITY_YEARS = 18  # Limitation Act 1980 s.28, s.38(2)


def add_days(day: datetime.date, days: int) -> datetime.date:
    """N days after D is D + N: the trigger day does not count (domain.md §5)."""
    return day + datetime.timedelta(days=days)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The same day-number N months later, or that month's last day where it does not exist:
    2023-10-31 + 4 months = 2024-02-29."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: datetime.date, years: int) -> datetime.date:
    return add_months(day, 12 * years)


@functools.lru_cache(maxsize=64)
def _england_bank_holidays(years: tuple[int, ...]) -> frozenset[datetime.date]:
    import holidays

    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=years).keys())


def england_bank_holidays(years: Iterable[int]) -> frozenset[datetime.date]:
    """England and Wales bank holidays (the `holidays` package, GB subdivision ENG)."""
    return _england_bank_holidays(tuple(sorted(set(years))))


@functools.lru_cache(maxsize=256)
def _bank_holidays_around(year: int) -> frozenset[datetime.date]:
    return england_bank_holidays(range(year - 1, year + 2))


def is_bank_holiday_in_england(day: datetime.date) -> bool:
    # Asked for every day a short period steps over: answered from one set per year.
    return day in _bank_holidays_around(day.year)


def is_working_day(day: datetime.date, holidays: Holidays = is_bank_holiday_in_england) -> bool:
    return day.weekday() < 5 and not holidays(day)


def add_working_days(
    day: datetime.date, days: int, holidays: Holidays = is_bank_holiday_in_england
) -> datetime.date:
    current = day
    remaining = days
    while remaining > 0:
        current += datetime.timedelta(days=1)
        if is_working_day(current, holidays):
            remaining -= 1
    return current


def next_working_day(
    day: datetime.date, holidays: Holidays = is_bank_holiday_in_england
) -> datetime.date:
    while not is_working_day(day, holidays):
        day += datetime.timedelta(days=1)
    return day


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """A deadline as data: `period` `unit`s after the claim date `trigger`, met when the claim
    date `met_by` is recorded."""

    kind: str
    trigger: str
    period: int
    unit: str
    met_by: str
    category: str
    source: str
    # The defence (CPR 15.4): 28 days instead of 14 once this date is recorded.
    longer_period_when: str = ""
    longer_period: int = 0
    # An agreed extension (CPR 15.5): this date replaces the deadline, up to `extension_cap`
    # days beyond it.
    extended_to: str = ""
    extension_cap: int = 0


def due_on_for(
    rule: DeadlineRule,
    dates: Mapping[str, datetime.date | None],
    holidays: Holidays = is_bank_holiday_in_england,
) -> datetime.date | None:
    trigger = dates.get(rule.trigger)
    if trigger is None:
        return None
    period = rule.period
    if rule.longer_period_when and dates.get(rule.longer_period_when) is not None:
        period = rule.longer_period
    if rule.unit == MONTHS:
        due = add_months(trigger, period)
    elif rule.unit == YEARS:
        due = add_years(trigger, period)
    elif rule.unit == WORKING_DAYS or period <= SHORT_PERIOD_DAYS:
        due = add_working_days(trigger, period, holidays)
    else:
        due = add_days(trigger, period)
    extended = dates.get(rule.extended_to) if rule.extended_to else None
    if extended is not None and extended > due:
        due = min(extended, add_days(due, rule.extension_cap))
    if rule.category == INTERNAL:
        # Only internal service levels move off a non-working day (domain.md §5, assumption);
        # protocol, court and limitation dates keep their calendar date, the earlier the safer.
        due = next_working_day(due, holidays)
    return due


DEFAULT_RULES: tuple[DeadlineRule, ...] = (
    DeadlineRule(
        "records_disclosure",
        "records_requested_on",
        40,
        DAYS,
        "records_disclosed_on",
        PROTOCOL,
        "Pre-Action Protocol for the Resolution of Clinical Disputes §3: health records within "
        "40 days",
    ),
    DeadlineRule(
        "acknowledge_letter_of_notification",
        "letter_of_notification_on",
        14,
        DAYS,
        "letter_of_notification_acknowledged_on",
        PROTOCOL,
        "Pre-Action Protocol §3: acknowledge a letter of notification within 14 days",
    ),
    DeadlineRule(
        "acknowledge_letter_of_claim",
        "letter_of_claim_on",
        14,
        DAYS,
        "letter_of_claim_acknowledged_on",
        PROTOCOL,
        "Pre-Action Protocol §3: acknowledge a letter of claim within 14 days",
    ),
    DeadlineRule(
        "letter_of_response",
        "letter_of_claim_on",
        4,
        MONTHS,
        "letter_of_response_sent_on",
        PROTOCOL,
        "Pre-Action Protocol §3: letter of response within 4 months of the letter of claim",
    ),
    DeadlineRule(
        "serve_claim_form",
        "claim_form_issued_on",
        4,
        MONTHS,
        "claim_form_served_on",
        COURT,
        "CPR 7.5: serve the claim form within 4 months of issue",
    ),
    DeadlineRule(
        "acknowledgment_of_service",
        "particulars_served_on",
        14,
        DAYS,
        "acknowledgment_of_service_on",
        COURT,
        "CPR 10.3: acknowledgment of service within 14 days of service of the particulars",
    ),
    DeadlineRule(
        "defence",
        "particulars_served_on",
        14,
        DAYS,
        "defence_filed_on",
        COURT,
        "CPR 15.4: defence within 14 days of service of the particulars, 28 if service is "
        "acknowledged; CPR 15.5: extendable by agreement by up to 28 days",
        longer_period_when="acknowledgment_of_service_on",
        longer_period=28,
        extended_to="defence_extended_to",
        extension_cap=28,
    ),
)

# Limitation is met by issuing the claim form on or before its last day (design.md §3.4).
LIMITATION_MET_BY = "claim_form_issued_on"


def met_by(kind: str, rules: Iterable[DeadlineRule] = DEFAULT_RULES) -> str:
    """The claim date that meets a deadline of this kind; "" for an internal service level,
    which is met on the deadline itself."""
    if kind == "limitation":
        return LIMITATION_MET_BY
    for rule in rules:
        if rule.kind == kind:
            return rule.met_by
    raise ValueError(f"No claim date meets a deadline of kind {kind!r}.")


@dataclass(frozen=True, slots=True)
class Limitation:
    due_on: datetime.date | None
    suspended: bool
    explanation: str


def limitation(
    *,
    incident_date: datetime.date | None,
    incident_date_to: datetime.date | None = None,
    date_of_knowledge: datetime.date | None = None,
    date_of_birth: datetime.date | None = None,
    date_of_death: datetime.date | None = None,
    lacks_capacity: bool = False,
) -> Limitation:
    """Limitation Act 1980 ss.11, 14, 28 as domain.md §5 states them."""
    if lacks_capacity:
        return Limitation(
            None,
            True,
            "The claimant lacks capacity, so no limitation period runs (s.28): suspended.",
        )
    end_of_incident = incident_date_to or incident_date
    starts = [d for d in (end_of_incident, date_of_knowledge) if d is not None]
    if not starts:
        return Limitation(None, False, "No incident date or date of knowledge: no date yet.")
    candidates = {"the incident": end_of_incident, "the date of knowledge": date_of_knowledge}
    if date_of_birth is not None:
        candidates["the 18th birthday"] = add_years(date_of_birth, MAJORITY_YEARS)
    latest_name, latest = max(
        ((name, day) for name, day in candidates.items() if day is not None), key=lambda x: x[1]
    )
    due = add_years(latest, LIMITATION_YEARS)
    # s.11(5): a death "before the expiration of the period", which runs to the end of its last
    # day, so a death on the last day counts.
    if date_of_death is not None and date_of_death <= due:
        base = max(d for d in (date_of_death, date_of_knowledge) if d is not None)
        return Limitation(
            add_years(base, LIMITATION_YEARS),
            False,
            "The claimant died before the period ran out: 3 years from the later of the death "
            "and the personal representative's knowledge (s.11(5)).",
        )
    return Limitation(due, False, f"3 years from {latest_name} (ss.11, 14, 28).")


@dataclass(frozen=True, slots=True)
class ClaimDates:
    """What the deadlines of one claim are computed from."""

    dates: Mapping[str, datetime.date | None]
    incident_date: datetime.date | None = None
    incident_date_to: datetime.date | None = None
    date_of_knowledge: datetime.date | None = None
    date_of_birth: datetime.date | None = None
    date_of_death: datetime.date | None = None
    lacks_capacity: bool = False


@dataclass(frozen=True, slots=True)
class ComputedDeadline:
    kind: str
    due_on: datetime.date | None
    suspended: bool
    status: str
    met_on: datetime.date | None
    category: str
    source: str
    non_working_day: bool


def _status(due: datetime.date | None, met_on: datetime.date | None, today: datetime.date) -> str:
    if met_on is not None:
        return MET
    if due is not None and today > due:
        return MISSED
    return OPEN


def compute_deadlines(
    claim: ClaimDates,
    *,
    today: datetime.date,
    rules: Iterable[DeadlineRule] = DEFAULT_RULES,
    holidays: Holidays = is_bank_holiday_in_england,
) -> list[ComputedDeadline]:
    """Every deadline a claim has now: one per rule whose trigger date is recorded, and the
    limitation deadline (dated, or suspended)."""
    computed = []
    for rule in rules:
        due = due_on_for(rule, claim.dates, holidays)
        if due is None:
            continue
        met_on = claim.dates.get(rule.met_by)
        computed.append(
            ComputedDeadline(
                kind=rule.kind,
                due_on=due,
                suspended=False,
                status=_status(due, met_on, today),
                met_on=met_on,
                category=rule.category,
                source=rule.source,
                non_working_day=not is_working_day(due, holidays),
            )
        )
    period = limitation(
        incident_date=claim.incident_date,
        incident_date_to=claim.incident_date_to,
        date_of_knowledge=claim.date_of_knowledge,
        date_of_birth=claim.date_of_birth,
        date_of_death=claim.date_of_death,
        lacks_capacity=claim.lacks_capacity,
    )
    if period.due_on is not None or period.suspended:
        issued = claim.dates.get(LIMITATION_MET_BY)
        if period.suspended:
            status = MET if issued is not None else OPEN
        elif issued is not None:
            # Limitation is met by issuing on or before its last day, and missed by issuing late.
            status = MET if issued <= period.due_on else MISSED
        else:
            status = _status(period.due_on, None, today)
        computed.append(
            ComputedDeadline(
                kind="limitation",
                due_on=period.due_on,
                suspended=period.suspended,
                status=status,
                met_on=issued if status == MET else None,
                category=LIMITATION,
                source=f"Limitation Act 1980: {period.explanation}",
                non_working_day=(
                    period.due_on is not None and not is_working_day(period.due_on, holidays)
                ),
            )
        )
    return computed
