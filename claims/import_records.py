"""The records of design.md §3.1 as data, and their row-level checks: one spec per kind, read by
the validator here and by the OpenAPI schema (claims.api.imports), so the contract is written
once. Pure Python, no ORM: what needs the database (does this practice exist?) is checked in
bulk by claims.import_services.

Each check answers with a stable error code and a message a person can act on.
"""

import datetime
import re
from dataclasses import dataclass
from typing import Any

from claims.models import (
    COMPLETION_DATE_FIELDS,
    TRIGGER_DATE_FIELDS,
    Activity,
    CareSetting,
    MatterType,
    MoneyHead,
    Outcome,
    Stage,
    Status,
)
from claims.money import pounds
from members.models import Member
from members.validators import gmc_number_is_valid, nhs_number_is_valid, ods_practice_code_is_valid


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # text, code, date, bool, money, choice, member, members, object
    required: bool = False
    choices: tuple[str, ...] = ()
    max_length: int = 0
    fields: tuple["Field", ...] = ()
    help: str = ""
    # Part of the natural key: needed in every row. Other required fields are needed only to
    # create a record; a row updating a stored one gives just what changes.
    key: bool = False


# Error codes (stable: clients match on them; docs/api.md lists them).
REQUIRED = "required"
INVALID = "invalid"
INVALID_CHOICE = "invalid_choice"
INVALID_DATE = "invalid_date"
INVALID_BOOLEAN = "invalid_boolean"
INVALID_CHARACTER = "invalid_character"
INVALID_AMOUNT = "invalid_amount"
TOO_LONG = "too_long"
UNKNOWN_FIELD = "unknown_field"
NOT_AN_OBJECT = "not_an_object"
INVALID_MEMBER_KEY = "invalid_member_key"
INVALID_NHS_NUMBER = "invalid_nhs_number"
INVALID_GMC_NUMBER = "invalid_gmc_number"
INVALID_ODS_CODE = "invalid_ods_code"
DATE_AND_RANGE = "date_and_range"
RANGE_INCOMPLETE = "range_incomplete"
RANGE_REVERSED = "range_reversed"
END_BEFORE_START = "end_before_start"
OUTCOME_REQUIRED = "outcome_required"
OUTCOME_NOT_ALLOWED = "outcome_not_allowed"
DEATH_BEFORE_BIRTH = "death_before_birth"
DONE_BEFORE_TRIGGER = "done_before_trigger"
SELF_EMPLOYED = "self_employed"
DUPLICATE_IN_BATCH = "duplicate_in_batch"
DUPLICATE_CLINICIAN = "duplicate_clinician"
UNKNOWN_PRACTICE = "unknown_practice"
UNKNOWN_MEMBER = "unknown_member"
UNKNOWN_ORGANISATION = "unknown_organisation"
OVERLAPPING_MEMBERSHIP = "overlapping_membership"
EXTRA_CELLS = "extra_cells"


REGISTRATION_BODIES = tuple(Member.RegistrationBody.values)
MEMBER_KEY_HELP = "A member key: {registration_body, registration_number}, or in CSV `GMC:1234567`."

_MEMBER = (
    Field("registration_body", "choice", required=True, key=True, choices=REGISTRATION_BODIES),
    # Upper case, as everywhere a member key is read: an NMC PIN is 12A3456E however it is sent.
    Field("registration_number", "code", required=True, key=True, max_length=32),
)

PRACTICE = (
    Field("ods_code", "code", required=True, key=True, max_length=6, help="ODS code, e.g. Y01234."),
    Field("name", "text", required=True, max_length=200),
    Field("postcode", "text", max_length=10),
)

MEMBER = (
    *_MEMBER,
    Field("given_name", "text", required=True, max_length=100),
    Field("family_name", "text", required=True, max_length=100),
    Field("role", "choice", required=True, choices=tuple(Member.Role.values)),
)

MEMBERSHIP = (
    Field("member", "member", required=True, key=True, help=MEMBER_KEY_HELP),
    Field(
        "organisation",
        "code",
        required=True,
        key=True,
        max_length=16,
        help="An MDO's code: MPS, ...",
    ),
    Field("start_date", "date", required=True, key=True),
    Field("end_date", "date"),
)

EMPLOYMENT = (
    Field("member", "member", required=True, key=True, help=MEMBER_KEY_HELP),
    Field(
        "practice", "code", required=True, key=True, max_length=6, help="The practice's ODS code."
    ),
    Field("start_date", "date", required=True, key=True),
    Field("end_date", "date"),
    Field("employer", "member", help="The GP member this person works for (a member key)."),
)

# design.md §3.4: acknowledgment_of_service_on both starts the defence and meets a deadline.
CLAIM_DATES = tuple(dict.fromkeys(TRIGGER_DATE_FIELDS + COMPLETION_DATE_FIELDS))

CLAIMANT = (
    Field("name", "text", required=True, max_length=200),
    Field("date_of_birth", "date"),
    Field("nhs_number", "text", max_length=13, help="10 digits; spaces allowed."),
    Field("date_of_death", "date"),
    Field("lacks_capacity", "bool"),
)

CLAIM = (
    Field(
        "external_ref", "text", required=True, key=True, max_length=100, help="Unique per sender."
    ),
    Field("matter_type", "choice", required=True, choices=tuple(MatterType.values)),
    Field("claimant", "object", required=True, fields=CLAIMANT),
    Field("practice", "code", max_length=6, help="The practice's ODS code."),
    Field("clinicians", "members", help="Member keys; in CSV joined with `;`."),
    Field("care_setting", "choice", required=True, choices=tuple(CareSetting.values)),
    Field("activity", "choice", required=True, choices=tuple(Activity.values)),
    Field("coronavirus_response", "bool"),
    Field("other_indemnity", "bool"),
    Field("provider_cnst_member", "bool"),
    Field("incident_date", "date"),
    Field("incident_date_from", "date"),
    Field("incident_date_to", "date"),
    Field("date_of_knowledge", "date"),
    Field("notified_on", "date", help="The date the claim reached its handler."),
    Field("stage", "choice", choices=tuple(Stage.values)),
    Field("status", "choice", choices=tuple(Status.values)),
    Field("outcome", "choice", choices=tuple(Outcome.values)),
    *(Field(name, "date") for name in CLAIM_DATES),
    Field("description", "text"),
    Field(
        "reserves",
        "object",
        fields=tuple(
            Field(head, "money", help=f'Expected {label.lower()} in pounds, as "1250.00".')
            for head, label in MoneyHead.choices
        ),
        help="The current reserve of each head; a changed figure is a new revision.",
    ),
)

SPECS: dict[str, tuple[Field, ...]] = {
    "practices": PRACTICE,
    "members": MEMBER,
    "memberships": MEMBERSHIP,
    "employments": EMPLOYMENT,
    "claims": CLAIM,
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RowErrors:
    """The errors of one row, each naming the field's path as the API error shape does."""

    def __init__(self, row: int) -> None:
        self.row = row
        self.items: list[dict] = []
        # Paths of absent fields a new record needs (checked once it is known to be new).
        self.missing: list[str] = []

    def add(self, field: str | None, code: str, message: str) -> None:
        if field:
            field = _storable(field)
        self.items.append({"row": self.row, "field": field, "code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.items)


def _is_unicode(text: str) -> bool:
    """False for text holding a lone surrogate, which only a JSON escape such as "\\ud800" can
    give (a CSV is decoded from UTF-8, which has none): not a character, so PostgreSQL could not
    store it."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _storable(text: str) -> str:
    """The sender's text as it can be stored in an error (a field name, a value quoted): a NUL
    or a lone surrogate written as its escape."""
    text = text.replace("\x00", "\\x00")
    return text if text.isascii() else text.encode("utf-8", "backslashreplace").decode()


def _path(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _member_key(value: Any, path: str, errors: RowErrors) -> tuple[str, str] | None:
    if isinstance(value, str):
        body, sep, number = value.strip().partition(":")
        if not sep:
            errors.add(
                path,
                INVALID_MEMBER_KEY,
                f"{value!r} is not a member key; write it BODY:NUMBER, as GMC:1234567.",
            )
            return None
        value = {"registration_body": body, "registration_number": number}
    if not isinstance(value, dict):
        errors.add(path, INVALID_MEMBER_KEY, "A member key is {registration_body, number}.")
        return None
    cleaned = _clean_object(_MEMBER, value, path, errors)
    if cleaned is None or len(cleaned) < 2:
        return None
    body, number = cleaned["registration_body"], cleaned["registration_number"]
    if body == "GMC" and not gmc_number_is_valid(number):
        errors.add(
            _path(path, "registration_number"),
            INVALID_GMC_NUMBER,
            f"{number!r} is not a GMC reference number (7 digits).",
        )
        return None
    return body, number


def _value(field: Field, value: Any, path: str, errors: RowErrors) -> Any:
    """The cleaned value, or None with an error added."""
    kind = field.type
    if kind == "object":
        if not isinstance(value, dict):
            errors.add(path, NOT_AN_OBJECT, f"{field.name} must be an object of its fields.")
            return None
        return _clean_object(field.fields, value, path, errors)
    if kind == "member":
        return _member_key(value, path, errors)
    if kind == "members":
        # A trailing ";" is forgiven; an empty key between two is an error, so that every
        # error's index is the key's place in the list as sent.
        items = value.rstrip(";").split(";") if isinstance(value, str) else value
        if not isinstance(items, list):
            errors.add(path, INVALID, f"{field.name} must be a list of member keys.")
            return None
        keys = []
        for index, item in enumerate(items):
            if isinstance(item, str) and not item.strip():
                errors.add(f"{path}[{index}]", INVALID_MEMBER_KEY, "An empty member key.")
                continue
            key = _member_key(item, f"{path}[{index}]", errors)
            if key in keys:
                errors.add(f"{path}[{index}]", DUPLICATE_CLINICIAN, f"{key[0]}:{key[1]} twice.")
            elif key is not None:
                keys.append(key)
        return keys
    if kind == "money":
        try:
            return pounds(value)
        except ValueError as error:
            errors.add(path, INVALID_AMOUNT, str(error))
            return None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        errors.add(path, INVALID_BOOLEAN, f"{value!r} is not true or false.")
        return None
    if not isinstance(value, str):
        errors.add(path, INVALID, f"{field.name} must be text, not {type(value).__name__}.")
        return None
    text = value.strip()
    if "\x00" in text:
        errors.add(path, INVALID_CHARACTER, f"{field.name} contains a NUL character.")
        return None
    if not text.isascii() and not _is_unicode(text):
        errors.add(
            path,
            INVALID_CHARACTER,
            f"{field.name} contains half of a UTF-16 escape pair (such as \\ud800) without "
            "the other half, which is not a character: send the character itself, or both "
            "halves of its escape.",
        )
        return None
    if kind == "date":
        try:
            if not _ISO_DATE.match(text):
                raise ValueError
            return datetime.date.fromisoformat(text)
        except ValueError:
            errors.add(path, INVALID_DATE, f"{value!r} is not a date written YYYY-MM-DD.")
            return None
    if kind == "choice":
        text = text.upper() if field.choices == REGISTRATION_BODIES else text.lower()
        if text not in field.choices:
            errors.add(
                path,
                INVALID_CHOICE,
                f"{value!r} is not one of {', '.join(field.choices)}.",
            )
            return None
        return text
    if kind == "code":
        text = text.upper()
    if field.max_length and len(text) > field.max_length:
        errors.add(path, TOO_LONG, f"At most {field.max_length} characters ({len(text)} given).")
        return None
    if field.required and not text:
        errors.add(path, REQUIRED, f"{field.name} is required.")
        return None
    return text


# Each spec's fields by name, made once: a claims import cleans a hundred thousand records.
_FIELDS_BY_NAME: dict[int, tuple[tuple[Field, ...], dict[str, Field]]] = {}


def _fields_by_name(spec: tuple[Field, ...]) -> dict[str, Field]:
    known = _FIELDS_BY_NAME.get(id(spec))
    if known is None or known[0] is not spec:
        known = _FIELDS_BY_NAME[id(spec)] = (spec, {field.name: field for field in spec})
    return known[1]


def _clean_object(
    spec: tuple[Field, ...], record: dict, parent: str, errors: RowErrors
) -> dict | None:
    known = _fields_by_name(spec)
    cleaned: dict[str, Any] = {}
    for name in record:
        if name not in known and name != "__extra_cells__":
            errors.add(
                _path(parent, str(name)),
                UNKNOWN_FIELD,
                f"No field {name!r} here; known: {', '.join(known)}.",
            )
    for field in spec:
        value = record.get(field.name)
        if value is None:
            # Most of a spec's fields are absent from any one record: their path is made only
            # when a required one is missing.
            if field.required:
                path = _path(parent, field.name)
                if field.key:
                    errors.add(path, REQUIRED, f"{field.name} is required.")
                else:
                    errors.missing.append(path)
            continue
        value = _value(field, value, _path(parent, field.name), errors)
        if value is not None:
            cleaned[field.name] = value
    return cleaned


def _ordered(
    errors: RowErrors, start: datetime.date | None, end: datetime.date | None, field: str
) -> None:
    if start and end and end < start:
        errors.add(field, END_BEFORE_START, f"{field} {end} is before the start {start}.")


def _check_practice(record: dict, errors: RowErrors) -> None:
    code = record.get("ods_code")
    if code and not ods_practice_code_is_valid(code):
        errors.add("ods_code", INVALID_ODS_CODE, f"{code!r} is not an ODS practice code (A12345).")


def _check_member(record: dict, errors: RowErrors) -> None:
    if record.get("registration_body") == "GMC" and not gmc_number_is_valid(
        record.get("registration_number", "")
    ):
        errors.add(
            "registration_number",
            INVALID_GMC_NUMBER,
            f"{record.get('registration_number')!r} is not a GMC reference number (7 digits).",
        )


def _check_period(record: dict, errors: RowErrors) -> None:
    _ordered(errors, record.get("start_date"), record.get("end_date"), "end_date")


def _check_employment(record: dict, errors: RowErrors) -> None:
    _check_period(record, errors)
    if record.get("employer") and record.get("employer") == record.get("member"):
        errors.add("employer", SELF_EMPLOYED, "A member cannot be their own employer.")


def _check_claim(record: dict, errors: RowErrors) -> None:
    claimant = record.get("claimant") or {}
    number = claimant.get("nhs_number")
    if number is not None:
        digits = "".join(number.split())
        if not nhs_number_is_valid(digits):
            errors.add(
                "claimant.nhs_number",
                INVALID_NHS_NUMBER,
                f"{number!r} is not a valid NHS number (10 digits, mod 11 check digit).",
            )
        else:
            claimant["nhs_number"] = digits
    single = record.get("incident_date")
    start, end = record.get("incident_date_from"), record.get("incident_date_to")
    if single and (start or end):
        errors.add(
            "incident_date",
            DATE_AND_RANGE,
            "Give either incident_date or incident_date_from and incident_date_to, not both.",
        )
    elif bool(start) != bool(end):
        missing = "incident_date_to" if start else "incident_date_from"
        errors.add(missing, RANGE_INCOMPLETE, "A range needs both its start and its end.")
    elif start and end and end < start:
        errors.add("incident_date_to", RANGE_REVERSED, "The incident range ends before it starts.")
    # Status and outcome, and birth and death when only one is given, are checked against the
    # stored claim once it is known (claims.import_services): a row may change just one.


_CHECKS = {
    "practices": _check_practice,
    "members": _check_member,
    "memberships": _check_period,
    "employments": _check_employment,
    "claims": _check_claim,
}


def record_clean(kind: str, row: int, record: Any) -> tuple[dict | None, RowErrors]:
    """Check one record against its kind's spec: (cleaned record, or None if it has errors;
    the errors)."""
    errors = RowErrors(row)
    if not isinstance(record, dict):
        errors.add(None, NOT_AN_OBJECT, "Each record must be an object of its fields.")
        return None, errors
    if record.get("__extra_cells__"):
        errors.add(
            None,
            EXTRA_CELLS,
            f"The row has {record['__extra_cells__']} more cells than the header.",
        )
    cleaned = _clean_object(SPECS[kind], record, "", errors)
    if cleaned is not None:
        _CHECKS[kind](cleaned, errors)
        if errors.missing:
            cleaned[MISSING] = tuple(errors.missing)
    return (None if errors else cleaned), errors


# Where a cleaned record carries the required fields it lacks, for the importer to refuse if
# the record turns out to be new.
MISSING = "__missing__"


def missing_errors(row: int, record: dict) -> list[dict]:
    return [
        {
            "row": row,
            "field": path,
            "code": REQUIRED,
            "message": f"{path} is required to create a record.",
        }
        for path in record.get(MISSING, ())
    ]
