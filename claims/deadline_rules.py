"""Claim deadlines: domain.md §5 and design.md §3.4 as pure Python.

Dates in, deadlines out. No Django, no ORM and no clock: "today" and the bank holidays are
arguments, so a deadline can be recomputed exactly and tested without a database. The rules are
data (`DEFAULT_RULES`): a new internal service level is a new `DeadlineRule` row, not new code.

Arithmetic (domain.md §5): `due_on` is the last day on which the act is in time. N days after D is
D + N (the trigger day does not count); N months after D is the same day-number N months later,
clamped to the month's last day; a period of 5 days or less counts working days only (CPR 2.8).
Protocol, court and limitation deadlines keep their calendar date even on a non-working day (the
earlier date is the safe one); only internal service levels move to the next working day.
"""

import calendar
import datetime
import functools
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

from holidays import country_holidays

# A bank-holiday calendar: a set of dates, or a predicate "is this day a bank holiday?".
# None wherever it is accepted means England and Wales bank holidays from the `holidays` package.
HolidayCalendar: TypeAlias = AbstractSet[datetime.date] | Callable[[datetime.date], bool]
DateMapping: TypeAlias = Mapping[str, datetime.date | None]

# CPR 2.8(4): a period of this many days or fewer excludes weekends and bank holidays.
SHORT_PERIOD_MAX_DAYS = 5
LIMITATION_YEARS = 3  # Limitation Act 1980 s.11(4)
AGE_OF_MAJORITY = 18  # Limitation Act 1980 s.28 with s.38(2): a minor is "under a disability"


class Unit(StrEnum):
    DAYS = "days"
    WORKING_DAYS = "working_days"
    MONTHS = "months"
    YEARS = "years"


class Category(StrEnum):
    PROTOCOL = "protocol"  # Pre-Action Protocol for the Resolution of Clinical Disputes
    COURT = "court"  # Civil Procedure Rules
    LIMITATION = "limitation"  # Limitation Act 1980
    INTERNAL = "internal"  # our own service levels (domain.md §5, assumption)


class DeadlineStatus(StrEnum):
    OPEN = "open"
    MET = "met"
    MISSED = "missed"
    # Decided by a person (design.md §3.3 PATCH); never computed here.
    WAIVED = "waived"


# --- Date arithmetic -------------------------------------------------------------------------


def add_days(d: datetime.date, n: int) -> datetime.date:
    """N calendar days after `d`; the trigger day does not count (domain.md §5)."""
    return d + datetime.timedelta(days=n)


def add_months(d: datetime.date, n: int) -> datetime.date:
    """The same day-number `n` months later, or that month's last day where the day-number does
    not exist: 2023-10-31 + 4 = 2024-02-29, 2023-06-30 + 4 = 2023-10-30 (domain.md §5; the
    "corresponding date" rule of CPR 2.10 and Dodds v Walker [1981] 1 WLR 1027)."""
    year, month_index = divmod(d.year * 12 + (d.month - 1) + n, 12)
    month = month_index + 1
    last_day = calendar.monthrange(year, month)[1]
    return datetime.date(year, month, min(d.day, last_day))


def add_years(d: datetime.date, n: int) -> datetime.date:
    """`n` years of 12 months each: 2020-02-29 + 3 years = 2023-02-28 (domain.md §5)."""
    return add_months(d, 12 * n)


@functools.lru_cache(maxsize=256)
def _england_bank_holidays(years: tuple[int, ...]) -> frozenset[datetime.date]:
    # England and Wales share their bank holidays; the package spells the jurisdiction "ENG".
    return frozenset(country_holidays("GB", subdiv="ENG", years=years).keys())


def england_bank_holidays(years: Iterable[int]) -> frozenset[datetime.date]:
    """England and Wales bank holidays (including substitute days) in the given years."""
    return _england_bank_holidays(tuple(sorted(set(years))))


def _is_england_bank_holiday(d: datetime.date) -> bool:
    return d in england_bank_holidays((d.year,))


def _holiday_test(holidays: HolidayCalendar | None) -> Callable[[datetime.date], bool]:
    if holidays is None:
        return _is_england_bank_holiday
    if isinstance(holidays, AbstractSet):
        return holidays.__contains__
    return holidays


def is_working_day(d: datetime.date, holidays: HolidayCalendar | None = None) -> bool:
    """Monday to Friday and not a bank holiday (CPR 2.8(4) and its definition of business day in
    CPR 6.2(b))."""
    return d.weekday() < 5 and not _holiday_test(holidays)(d)


def next_working_day(d: datetime.date, holidays: HolidayCalendar | None = None) -> datetime.date:
    """`d` itself when it is a working day, otherwise the first working day after it."""
    is_holiday = _holiday_test(holidays)
    while not is_working_day(d, is_holiday):
        d = add_days(d, 1)
    return d


def add_working_days(
    d: datetime.date, n: int, holidays: HolidayCalendar | None = None
) -> datetime.date:
    """`n` working days after `d`, skipping Saturdays, Sundays and bank holidays (CPR 2.8(4)).
    A negative `n` counts back; zero returns `d` unchanged, working day or not."""
    is_holiday = _holiday_test(holidays)
    step = 1 if n >= 0 else -1
    remaining = abs(n)
    while remaining:
        d = add_days(d, step)
        if is_working_day(d, is_holiday):
            remaining -= 1
    return d


def _add_period(
    d: datetime.date, period: int, unit: Unit, is_holiday: Callable[[datetime.date], bool]
) -> tuple[datetime.date, bool]:
    """The period added to `d`, and whether CPR 2.8's short-period rule counted working days."""
    if unit is Unit.WORKING_DAYS:
        return add_working_days(d, period, is_holiday), False
    if unit is Unit.DAYS:
        # CPR 2.8(4): "where the specified period is 5 days or less ... [weekends and bank
        # holidays] do not count". Applied to every days-rule, protocol ones included.
        if period <= SHORT_PERIOD_MAX_DAYS:
            return add_working_days(d, period, is_holiday), True
        return add_days(d, period), False
    if unit is Unit.MONTHS:
        return add_months(d, period), False
    return add_years(d, period), False


# --- Rules as data ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadlineRule:
    """One kind of deadline: `period` `unit`s after the claim date named `trigger`, met when the
    claim date named `met_by` is recorded.

    Two optional variants, both needed by the defence (CPR 15.4, 15.5) and usable by any rule:
    - `longer_when`/`longer_period`: when the claim date named `longer_when` is recorded, the
      period is `longer_period` instead (the defence: 28 days once service is acknowledged).
    - `extended_to`/`max_extension_days`: the claim date named `extended_to` (an agreed extension)
      replaces the due date, but never beyond the unextended due date plus `max_extension_days`.

    The limitation rule (category "limitation") is computed by `limitation_due_on` from the
    claimant's facts; its `trigger` and `period` only document it.
    """

    kind: str
    trigger: str
    period: int
    unit: Unit
    met_by: str
    category: Category
    source: str
    longer_when: str | None = None
    longer_period: int | None = None
    extended_to: str | None = None
    max_extension_days: int | None = None

    def __post_init__(self) -> None:
        # Rows may come from configuration as plain strings: validate them once, here.
        object.__setattr__(self, "unit", Unit(self.unit))
        object.__setattr__(self, "category", Category(self.category))
        if self.period < 0:
            raise ValueError(f"{self.kind}: a period cannot be negative")
        if (self.longer_when is None) != (self.longer_period is None):
            raise ValueError(f"{self.kind}: longer_when and longer_period go together")
        if (self.extended_to is None) != (self.max_extension_days is None):
            raise ValueError(f"{self.kind}: extended_to and max_extension_days go together")
        if self.longer_period is not None and self.longer_period < 0:
            raise ValueError(f"{self.kind}: a period cannot be negative")
        if self.max_extension_days is not None and self.max_extension_days < 0:
            raise ValueError(f"{self.kind}: an extension cap cannot be negative")


_PROTOCOL = "Pre-Action Protocol for the Resolution of Clinical Disputes §3"

DEFAULT_RULES: tuple[DeadlineRule, ...] = (
    DeadlineRule(
        kind="records_disclosure",
        trigger="records_requested_on",
        period=40,
        unit=Unit.DAYS,
        met_by="records_disclosed_on",
        category=Category.PROTOCOL,
        source=f"{_PROTOCOL} (health records): copies within 40 days of the request",
    ),
    DeadlineRule(
        kind="acknowledge_letter_of_notification",
        trigger="letter_of_notification_on",
        period=14,
        unit=Unit.DAYS,
        met_by="letter_of_notification_acknowledged_on",
        category=Category.PROTOCOL,
        source=f"{_PROTOCOL} (letter of notification): acknowledge within 14 days",
    ),
    DeadlineRule(
        kind="acknowledge_letter_of_claim",
        trigger="letter_of_claim_on",
        period=14,
        unit=Unit.DAYS,
        met_by="letter_of_claim_acknowledged_on",
        category=Category.PROTOCOL,
        source=f"{_PROTOCOL} (letter of claim): acknowledge within 14 days",
    ),
    DeadlineRule(
        kind="letter_of_response",
        trigger="letter_of_claim_on",
        period=4,
        unit=Unit.MONTHS,
        met_by="letter_of_response_sent_on",
        category=Category.PROTOCOL,
        source=f"{_PROTOCOL} (letter of response): within 4 months of the letter of claim",
    ),
    DeadlineRule(
        kind="serve_claim_form",
        trigger="claim_form_issued_on",
        period=4,
        unit=Unit.MONTHS,
        met_by="claim_form_served_on",
        category=Category.COURT,
        source="CPR 7.5: serve the claim form within 4 months after the date of issue",
    ),
    DeadlineRule(
        kind="acknowledgment_of_service",
        trigger="particulars_served_on",
        period=14,
        unit=Unit.DAYS,
        met_by="acknowledgment_of_service_on",
        category=Category.COURT,
        source="CPR 10.3: acknowledge service within 14 days after service of the particulars",
    ),
    DeadlineRule(
        kind="defence",
        trigger="particulars_served_on",
        period=14,
        unit=Unit.DAYS,
        met_by="defence_filed_on",
        category=Category.COURT,
        source=(
            "CPR 15.4: defence within 14 days after service of the particulars, or 28 days if "
            "service was acknowledged; CPR 15.5: extendable by agreement by up to 28 days"
        ),
        longer_when="acknowledgment_of_service_on",
        longer_period=28,
        extended_to="defence_extended_to",
        max_extension_days=28,
    ),
    DeadlineRule(
        kind="limitation",
        trigger="incident_date",
        period=LIMITATION_YEARS,
        unit=Unit.YEARS,
        met_by="claim_form_issued_on",
        category=Category.LIMITATION,
        source=(
            "Limitation Act 1980 ss.11, 14, 28: claim form issued within 3 years of the latest "
            "of the injury, the date of knowledge and the 18th birthday; from death if earlier; "
            "no period runs while the claimant lacks capacity"
        ),
    ),
    DeadlineRule(
        kind="acknowledge_new_claim",
        trigger="notified_on",
        period=2,
        unit=Unit.WORKING_DAYS,
        met_by="letter_of_notification_acknowledged_on",
        category=Category.INTERNAL,
        source=(
            "Internal service level (assumption, domain.md §5): acknowledge a new claim within "
            "2 working days of it reaching its handler"
        ),
    ),
)


def _rule_due_on(
    rule: DeadlineRule,
    trigger_date: datetime.date,
    is_holiday: Callable[[datetime.date], bool],
    dates: DateMapping,
) -> tuple[datetime.date, str]:
    """The due date of a non-limitation rule and, in plain words, why."""
    if rule.category is Category.LIMITATION:
        raise ValueError("the limitation date comes from limitation_due_on, not a period")
    period = rule.period
    reasons: list[str] = []
    if rule.longer_when is not None and dates.get(rule.longer_when) is not None:
        assert rule.longer_period is not None  # checked in DeadlineRule.__post_init__
        period = rule.longer_period
        reasons.append(f"{rule.longer_when} is recorded")
    due_on, short = _add_period(trigger_date, period, rule.unit, is_holiday)
    explanation = f"{period} {rule.unit} after {rule.trigger} {trigger_date.isoformat()}"
    if short:
        explanation += " (5 days or less: working days only, CPR 2.8)"
    if rule.extended_to is not None and (extension := dates.get(rule.extended_to)) is not None:
        assert rule.max_extension_days is not None  # checked in DeadlineRule.__post_init__
        # CPR 15.5: the parties may extend the period "by up to 28 days". An agreed date replaces
        # the due date; one beyond the cap is held to the cap (the safe, earlier date).
        cap, _ = _add_period(due_on, rule.max_extension_days, Unit.DAYS, is_holiday)
        if extension > cap:
            reasons.append(
                f"{rule.extended_to} {extension.isoformat()} is beyond the cap of "
                f"{rule.max_extension_days} days more, so {cap.isoformat()}"
            )
            due_on = cap
        else:
            reasons.append(f"replaced by {rule.extended_to} {extension.isoformat()}")
            due_on = extension
    if rule.category is Category.INTERNAL and not is_working_day(due_on, is_holiday):
        # Only our own service levels move (domain.md §5, assumption); rules of law keep the
        # earlier, calendar date.
        due_on = next_working_day(due_on, is_holiday)
        reasons.append(f"moved to the next working day {due_on.isoformat()}")
    if reasons:
        explanation += "; " + "; ".join(reasons)
    return due_on, explanation


def due_on_for(
    rule: DeadlineRule,
    trigger_date: datetime.date,
    holidays: HolidayCalendar | None = None,
    *,
    dates: DateMapping | None = None,
) -> datetime.date:
    """The last day on which `rule`'s act is in time, counted from `trigger_date`.

    `dates` (claim date fields) feeds the rule's variants: the defence reads
    `acknowledgment_of_service_on` and `defence_extended_to` from it.
    """
    due_on, _ = _rule_due_on(rule, trigger_date, _holiday_test(holidays), dates or {})
    return due_on


# --- Limitation ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LimitationResult:
    due_on: datetime.date | None
    suspended: bool
    explanation: str


def limitation_due_on(
    *,
    incident_date: datetime.date | None,
    incident_date_to: datetime.date | None,
    date_of_knowledge: datetime.date | None,
    date_of_birth: datetime.date | None,
    date_of_death: datetime.date | None,
    lacks_capacity: bool,
) -> LimitationResult:
    """The last day to issue the claim form (domain.md §5; Limitation Act 1980 ss.11, 14, 28).

    `incident_date` is a single incident date; `incident_date_to` the end of a range (which wins
    when given: the cause of action accrues at the latest on the last day of the range,
    domain.md §5 assumption).
    """
    if lacks_capacity and date_of_death is None:
        # s.28: while the claimant is under a disability (lacks capacity, Mental Capacity Act
        # 2005) no period runs, so there is no date to show.
        return LimitationResult(
            None,
            True,
            "Suspended: the claimant lacks capacity, so no limitation period runs (s.28).",
        )
    if lacks_capacity:
        assert date_of_death is not None
        # s.28(1): the period runs from when the disability ended "or he died, whichever first
        # occurred", and s.11(5) gives the personal representative 3 years from the death or
        # their knowledge (assumption: a death ends the suspension).
        start = max(date_of_death, date_of_knowledge or date_of_death)
        return LimitationResult(
            add_years(start, LIMITATION_YEARS),
            False,
            f"3 years after {start.isoformat()}, the later of the death and the date of "
            "knowledge: the claimant lacked capacity until death (ss.11(5), 28).",
        )

    incident_end = incident_date_to if incident_date_to is not None else incident_date
    if incident_end is None and date_of_knowledge is None:
        return LimitationResult(
            None,
            False,
            "No date: the incident date is unknown and no date of knowledge is recorded.",
        )

    candidates: list[tuple[datetime.date, str]] = []
    if incident_end is not None:
        label = "end of the incident range" if incident_date_to is not None else "incident date"
        candidates.append((incident_end, f"{label} {incident_end.isoformat()} (s.11(4)(a))"))
    if date_of_knowledge is not None:
        candidates.append(
            (date_of_knowledge, f"date of knowledge {date_of_knowledge.isoformat()} (s.14)")
        )
    if date_of_birth is not None:
        # add_years clamps a 29 February birthday to 28 February in a common year.
        majority = add_years(date_of_birth, AGE_OF_MAJORITY)
        candidates.append((majority, f"18th birthday {majority.isoformat()} (s.28)"))
    # max() over (date, label) breaks ties by label; only the date matters for the result.
    start, why = max(candidates, key=lambda candidate: candidate[0])
    due_on = add_years(start, LIMITATION_YEARS)
    explanation = f"3 years after the latest of the dates that count: {why}."

    # s.11(5): the injured person died "before the expiration of the period", i.e. on or before
    # its last day; the personal representative then has 3 years from the death or their own
    # date of knowledge (the recorded date of knowledge, domain.md §5).
    if date_of_death is not None and date_of_death <= due_on:
        start = max(date_of_death, date_of_knowledge or date_of_death)
        due_on = add_years(start, LIMITATION_YEARS)
        explanation = (
            f"3 years after {start.isoformat()}, the later of the death "
            f"{date_of_death.isoformat()} and the date of knowledge: the claimant died before "
            "the period expired (s.11(5))."
        )
    return LimitationResult(due_on, False, explanation)


# --- A claim's deadlines ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimantFacts:
    date_of_birth: datetime.date | None = None
    date_of_death: datetime.date | None = None
    lacks_capacity: bool = False


@dataclass(frozen=True, slots=True)
class ComputedDeadline:
    kind: str
    due_on: datetime.date | None
    suspended: bool
    status: DeadlineStatus
    met_on: datetime.date | None
    category: Category
    source: str
    # The due date is a weekend or bank holiday; it still stands (domain.md §5), but a screen
    # can say "falls on a non-working day".
    non_working_day: bool
    explanation: str = ""


def _status(
    due_on: datetime.date | None, met_on: datetime.date | None, today: datetime.date
) -> DeadlineStatus:
    if met_on is not None:
        return DeadlineStatus.MET
    if due_on is not None and today > due_on:
        return DeadlineStatus.MISSED
    return DeadlineStatus.OPEN


def compute_deadlines(
    *,
    dates: DateMapping,
    today: datetime.date,
    claimant: ClaimantFacts | None = None,
    incident_date: datetime.date | None = None,
    incident_date_to: datetime.date | None = None,
    date_of_knowledge: datetime.date | None = None,
    rules: Iterable[DeadlineRule] = DEFAULT_RULES,
    holidays: HolidayCalendar | None = None,
) -> list[ComputedDeadline]:
    """A claim's deadlines, in the order of `rules`: one per rule whose trigger date is set in
    `dates`, and the limitation deadline whenever it has a date or is suspended.

    Status: "met" when the `met_by` date is recorded (late or not: the act was done); for
    limitation only when the claim form was issued on or before the due date, "missed" when
    issued after it. Otherwise "missed" once `today` is past the due date, else "open".
    "waived" is a person's decision and never computed here.
    """
    claimant = claimant or ClaimantFacts()
    is_holiday = _holiday_test(holidays)
    deadlines: list[ComputedDeadline] = []
    for rule in rules:
        recorded_on = dates.get(rule.met_by)
        if rule.category is Category.LIMITATION:
            result = limitation_due_on(
                incident_date=incident_date,
                incident_date_to=incident_date_to,
                date_of_knowledge=date_of_knowledge,
                date_of_birth=claimant.date_of_birth,
                date_of_death=claimant.date_of_death,
                lacks_capacity=claimant.lacks_capacity,
            )
            if result.due_on is None and not result.suspended:
                continue
            due_on, explanation = result.due_on, result.explanation
            # Issued after the last day is out of time: the act was done but missed the
            # deadline. While suspended any issue date is in time.
            in_time = recorded_on is not None and (due_on is None or recorded_on <= due_on)
            met_on = recorded_on if in_time else None
            if recorded_on is not None and not in_time:
                status = DeadlineStatus.MISSED
            else:
                status = _status(due_on, met_on, today)
            suspended = result.suspended
        else:
            trigger_date = dates.get(rule.trigger)
            if trigger_date is None:
                continue
            due_on, explanation = _rule_due_on(rule, trigger_date, is_holiday, dates)
            met_on = recorded_on
            status = _status(due_on, met_on, today)
            suspended = False
        deadlines.append(
            ComputedDeadline(
                kind=rule.kind,
                due_on=due_on,
                suspended=suspended,
                status=status,
                met_on=met_on,
                category=rule.category,
                source=rule.source,
                non_working_day=due_on is not None and not is_working_day(due_on, is_holiday),
                explanation=explanation,
            )
        )
    return deadlines
