"""domain.md §5: every row of the deadline table, its worked examples, month ends, leap years,
bank holidays, and limitation for children, the dead and those lacking capacity."""

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.deadlines import (
    DEFAULT_RULES,
    INTERNAL,
    ClaimDates,
    DeadlineRule,
    add_months,
    add_working_days,
    add_years,
    compute_deadlines,
    due_on_for,
    england_bank_holidays,
    is_working_day,
    limitation,
    next_working_day,
)

D = datetime.date
RULES = {rule.kind: rule for rule in DEFAULT_RULES}
TODAY = D(2024, 6, 1)


def due(kind: str, **dates) -> datetime.date | None:
    return due_on_for(RULES[kind], dates)


def by_kind(claim: ClaimDates, today=TODAY):
    return {d.kind: d for d in compute_deadlines(claim, today=today)}


# Worked examples of domain.md §5.


def test_letter_of_claim_on_2023_10_31_wants_response_by_2024_02_29():
    assert due("letter_of_response", letter_of_claim_on=D(2023, 10, 31)) == D(2024, 2, 29)


def test_records_requested_on_2024_01_10_are_due_by_2024_02_19():
    assert due("records_disclosure", records_requested_on=D(2024, 1, 10)) == D(2024, 2, 19)


def test_child_born_2010_05_05_injured_in_2015_has_until_2031_05_05():
    assert limitation(incident_date=D(2015, 3, 1), date_of_birth=D(2010, 5, 5)).due_on == D(
        2031, 5, 5
    )


# Month arithmetic.


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2023, 10, 31), 4, D(2024, 2, 29)),
        (D(2022, 10, 31), 4, D(2023, 2, 28)),
        (D(2023, 6, 30), 4, D(2023, 10, 30)),
        (D(2024, 1, 31), 1, D(2024, 2, 29)),
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(2020, 2, 29), 36, D(2023, 2, 28)),
        (D(2020, 2, 29), 48, D(2024, 2, 29)),
        (D(2023, 11, 30), 2, D(2024, 1, 30)),
        (D(2023, 12, 15), 1, D(2024, 1, 15)),
    ],
)
def test_months_keep_the_day_or_clamp_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_three_years_from_29_february_is_28_february():
    assert add_years(D(2020, 2, 29), 3) == D(2023, 2, 28)


# Each row of the table.


def test_letter_of_notification_is_acknowledged_within_14_days():
    assert due("acknowledge_letter_of_notification", letter_of_notification_on=D(2024, 3, 1)) == D(
        2024, 3, 15
    )


def test_letter_of_claim_is_acknowledged_within_14_days():
    assert due("acknowledge_letter_of_claim", letter_of_claim_on=D(2024, 3, 1)) == D(2024, 3, 15)


def test_claim_form_is_served_within_4_months_of_issue():
    assert due("serve_claim_form", claim_form_issued_on=D(2024, 1, 31)) == D(2024, 5, 31)


def test_acknowledgment_of_service_is_due_14_days_after_the_particulars():
    assert due("acknowledgment_of_service", particulars_served_on=D(2024, 3, 1)) == D(2024, 3, 15)


def test_defence_is_due_in_14_days_without_an_acknowledgment():
    assert due("defence", particulars_served_on=D(2024, 3, 1)) == D(2024, 3, 15)


def test_defence_is_due_in_28_days_once_service_is_acknowledged():
    assert due(
        "defence", particulars_served_on=D(2024, 3, 1), acknowledgment_of_service_on=D(2024, 3, 8)
    ) == D(2024, 3, 29)


def test_an_agreed_extension_moves_the_defence_up_to_28_more_days():
    dates = {
        "particulars_served_on": D(2024, 3, 1),
        "acknowledgment_of_service_on": D(2024, 3, 8),
    }
    assert due("defence", **dates, defence_extended_to=D(2024, 4, 20)) == D(2024, 4, 20)
    assert due("defence", **dates, defence_extended_to=D(2024, 4, 26)) == D(2024, 4, 26)
    assert due("defence", **dates, defence_extended_to=D(2024, 4, 27)) == D(2024, 4, 26)


def test_no_trigger_date_means_no_deadline():
    assert due("letter_of_response") is None


# Working days and bank holidays.


def test_england_bank_holidays_include_easter_and_christmas():
    days = england_bank_holidays([2023, 2024])
    assert {D(2024, 3, 29), D(2024, 4, 1), D(2023, 12, 25), D(2023, 12, 26)} <= days
    assert D(2024, 3, 28) not in days


def test_the_2022_state_funeral_was_a_bank_holiday():
    assert D(2022, 9, 19) in england_bank_holidays([2022])


def test_a_short_period_skips_the_easter_weekend():
    # 2024-03-28 (Thursday) + 2 working days: Good Friday, the weekend and Easter Monday skipped.
    assert add_working_days(D(2024, 3, 28), 2) == D(2024, 4, 3)


def test_a_short_period_skips_christmas():
    assert add_working_days(D(2023, 12, 22), 1) == D(2023, 12, 27)


def test_a_five_day_rule_counts_working_days_but_a_six_day_rule_does_not():
    five = DeadlineRule("x", "t", 5, "days", "m", "court", "CPR 2.8")
    six = DeadlineRule("x", "t", 6, "days", "m", "court", "")
    friday = D(2024, 3, 1)
    assert due_on_for(five, {"t": friday}) == D(2024, 3, 8)
    assert due_on_for(six, {"t": friday}) == D(2024, 3, 7)


def test_a_protocol_deadline_on_a_bank_holiday_keeps_its_date_and_says_so():
    # Letter of notification on 2024-03-18 + 14 days = Easter Monday 2024-04-01.
    [deadline] = [
        d
        for d in compute_deadlines(
            ClaimDates(dates={"letter_of_notification_on": D(2024, 3, 18)}, incident_date=None),
            today=TODAY,
        )
        if d.kind == "acknowledge_letter_of_notification"
    ]
    assert deadline.due_on == D(2024, 4, 1)
    assert deadline.non_working_day


def test_an_internal_service_level_moves_to_the_next_working_day():
    review = DeadlineRule("review", "t", 14, "days", "m", INTERNAL, "internal (assumption)")
    assert due_on_for(review, {"t": D(2024, 3, 18)}) == D(2024, 4, 2)


def test_next_working_day_of_a_working_day_is_itself():
    assert next_working_day(D(2024, 4, 2)) == D(2024, 4, 2)


# Limitation.


def test_adult_has_three_years_from_the_incident():
    assert limitation(incident_date=D(2020, 6, 1), date_of_birth=D(1970, 1, 1)).due_on == D(
        2023, 6, 1
    )


def test_a_range_runs_from_its_end():
    assert limitation(incident_date=D(2019, 1, 1), incident_date_to=D(2020, 2, 29)).due_on == D(
        2023, 2, 28
    )


def test_a_later_date_of_knowledge_starts_the_period():
    assert limitation(incident_date=D(2018, 1, 1), date_of_knowledge=D(2021, 5, 4)).due_on == D(
        2024, 5, 4
    )


def test_a_death_before_the_date_gives_three_years_from_the_later_of_death_and_knowledge():
    result = limitation(
        incident_date=D(2020, 1, 1), date_of_death=D(2021, 1, 10), date_of_knowledge=D(2021, 3, 1)
    )
    assert result.due_on == D(2024, 3, 1)
    assert "s.11(5)" in result.explanation


def test_a_death_after_the_knowledge_counts_from_the_death():
    result = limitation(
        incident_date=D(2020, 1, 1), date_of_knowledge=D(2020, 6, 1), date_of_death=D(2021, 1, 10)
    )
    assert result.due_on == D(2024, 1, 10)


def test_a_death_the_day_after_the_last_day_changes_nothing():
    # The last day is 2018-01-01; a death on it restarts the period, the day after does not.
    assert limitation(incident_date=D(2015, 1, 1), date_of_death=D(2018, 1, 2)).due_on == D(
        2018, 1, 1
    )


def test_after_a_death_the_18th_birthday_no_longer_counts():
    # A child's period would run from their 18th birthday (2028); after their death it runs
    # from the death.
    result = limitation(
        incident_date=D(2015, 3, 1), date_of_birth=D(2010, 5, 5), date_of_death=D(2016, 1, 1)
    )
    assert result.due_on == D(2019, 1, 1)


def test_a_death_after_the_limitation_date_changes_nothing():
    assert limitation(incident_date=D(2015, 1, 1), date_of_death=D(2019, 1, 1)).due_on == D(
        2018, 1, 1
    )


def test_a_claimant_lacking_capacity_has_no_date_and_a_suspended_flag():
    result = limitation(incident_date=D(2015, 1, 1), lacks_capacity=True)
    assert (result.due_on, result.suspended) == (None, True)


def test_limitation_is_met_by_issue_on_its_last_day_and_missed_the_day_after():
    base = {"incident_date": D(2020, 6, 1)}
    on_time = by_kind(ClaimDates(dates={"claim_form_issued_on": D(2023, 6, 1)}, **base))
    late = by_kind(ClaimDates(dates={"claim_form_issued_on": D(2023, 6, 2)}, **base))
    assert on_time["limitation"].status == "met"
    assert late["limitation"].status == "missed"


def test_limitation_is_open_until_its_date_passes():
    claim = ClaimDates(dates={}, incident_date=D(2021, 6, 1))
    assert by_kind(claim, today=D(2024, 6, 1))["limitation"].status == "open"
    assert by_kind(claim, today=D(2024, 6, 2))["limitation"].status == "missed"


def test_a_suspended_limitation_is_listed_with_no_date():
    deadline = by_kind(ClaimDates(dates={}, incident_date=D(2021, 6, 1), lacks_capacity=True))[
        "limitation"
    ]
    assert (deadline.due_on, deadline.suspended, deadline.status) == (None, True, "open")


# Statuses.


def test_a_deadline_is_met_when_its_completion_date_is_recorded():
    claim = ClaimDates(
        dates={
            "letter_of_claim_on": D(2024, 1, 2),
            "letter_of_claim_acknowledged_on": D(2024, 1, 30),
        }
    )
    assert by_kind(claim)["acknowledge_letter_of_claim"].status == "met"


@pytest.mark.parametrize(
    ("dates", "met", "unmet"),
    [
        (
            {"records_requested_on": D(2024, 1, 10), "records_disclosed_on": D(2024, 2, 1)},
            "records_disclosure",
            "acknowledge_letter_of_notification",
        ),
        (
            {
                "letter_of_notification_on": D(2024, 3, 1),
                "letter_of_notification_acknowledged_on": D(2024, 3, 5),
            },
            "acknowledge_letter_of_notification",
            "records_disclosure",
        ),
        (
            {"particulars_served_on": D(2024, 3, 1), "acknowledgment_of_service_on": D(2024, 3, 8)},
            "acknowledgment_of_service",
            "defence",
        ),
    ],
)
def test_each_deadline_is_met_by_its_own_completion_date_and_no_other(dates, met, unmet):
    deadlines = by_kind(ClaimDates(dates=dates))
    assert (deadlines[met].status, deadlines[met].met_on) == ("met", max(dates.values()))
    assert unmet not in deadlines or deadlines[unmet].status != "met"


def test_a_deadline_is_open_on_its_last_day_and_missed_the_day_after():
    claim = ClaimDates(dates={"letter_of_claim_on": D(2024, 1, 2)})
    assert by_kind(claim, today=D(2024, 1, 16))["acknowledge_letter_of_claim"].status == "open"
    assert by_kind(claim, today=D(2024, 1, 17))["acknowledge_letter_of_claim"].status == "missed"


# Properties.


@settings(max_examples=300)
@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2040, 12, 31)), st.sampled_from(DEFAULT_RULES))
def test_a_deadline_is_never_before_its_trigger(trigger, rule):
    assert due_on_for(rule, {rule.trigger: trigger}) >= trigger


@settings(max_examples=300)
@given(
    st.dates(min_value=D(2000, 1, 1), max_value=D(2035, 12, 31)),
    st.integers(1, 5),
    st.dates(min_value=D(2000, 1, 1), max_value=D(2036, 12, 31)),
)
def test_adding_a_bank_holiday_never_makes_a_deadline_earlier(start, days, extra):
    def plain(day):
        return False

    def with_extra(day):
        return day == extra

    assert add_working_days(start, days, with_extra) >= add_working_days(start, days, plain)


@settings(max_examples=300)
@given(st.dates(min_value=D(1950, 1, 1), max_value=D(2040, 12, 31)), st.integers(0, 120))
def test_months_land_in_the_right_month_never_past_the_day_number(start, months):
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day <= start.day


@settings(max_examples=300)
@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2035, 12, 31)), st.integers(1, 5))
def test_working_day_results_are_never_weekends_or_bank_holidays(start, days):
    assert is_working_day(add_working_days(start, days))


@settings(max_examples=300)
@given(
    st.dates(min_value=D(1990, 1, 1), max_value=D(2030, 12, 31)),
    st.dates(min_value=D(1930, 1, 1), max_value=D(2000, 12, 31)),
)
def test_limitation_for_a_living_adult_is_never_before_three_years_after_the_incident(
    incident, born
):
    result = limitation(incident_date=incident, date_of_birth=born)
    assert result.due_on >= add_years(incident, 3)


def test_a_death_on_the_last_day_still_restarts_the_period():
    assert limitation(incident_date=D(2015, 1, 1), date_of_death=D(2018, 1, 1)).due_on == D(
        2021, 1, 1
    )


def test_each_deadline_is_met_by_its_own_claim_date_and_an_unknown_kind_by_none():
    from claims.deadlines import met_by

    assert met_by("limitation") == "claim_form_issued_on"
    assert met_by("letter_of_response") == "letter_of_response_sent_on"
    assert met_by("defence") == "defence_filed_on"
    with pytest.raises(ValueError, match="review_reserves"):
        met_by("review_reserves")
