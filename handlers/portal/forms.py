"""The portal's forms. They check what a person typed; the services decide what may be done."""

import datetime

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.utils import timezone

from claims.models import Claim, MoneyHead, Payment, Stage
from handlers.portal.labels import DATE_LABELS, DONE_DATE_FIELDS, RECEIVED_DATE_FIELDS


class DateInputWidget(forms.MultiWidget):
    """The NHS.UK date input: day, month and year boxes (templates/portal/includes/field.html
    draws it), posted as NAME_day, NAME_month, NAME_year."""

    def __init__(self, attrs=None):
        part = {"inputmode": "numeric"}
        super().__init__(
            {
                "day": forms.TextInput(attrs=part),
                "month": forms.TextInput(attrs=part),
                "year": forms.TextInput(attrs=part),
            },
            attrs,
        )

    def decompress(self, value):
        if isinstance(value, datetime.date):
            return [str(value.day), str(value.month), str(value.year)]
        return ["", "", ""]


class DateField(forms.Field):
    """A date typed as day, month and year, with the design system's error messages."""

    widget = DateInputWidget

    def __init__(self, *, allow_future: bool = True, **kwargs):
        self.allow_future = allow_future
        super().__init__(**kwargs)

    def to_python(self, value):
        if isinstance(value, datetime.date):
            return value
        parts = [str(p or "").strip() for p in (value or ["", "", ""])]
        if not any(parts):
            return None
        label = (self.label or "The date").capitalize()
        missing = [
            name for name, part in zip(("day", "month", "year"), parts, strict=True) if not part
        ]
        if missing:
            raise forms.ValidationError(
                f"{label} must include a {' and '.join(missing)}", code="incomplete"
            )
        if not all(part.isdigit() for part in parts) or len(parts[2]) != 4:
            raise forms.ValidationError(f"{label} must be a real date", code="invalid")
        try:
            return datetime.date(int(parts[2]), int(parts[1]), int(parts[0]))
        except ValueError:
            raise forms.ValidationError(f"{label} must be a real date", code="invalid") from None

    def validate(self, value):
        if value is None and self.required:
            raise forms.ValidationError(
                f"Enter the date: {(self.label or 'date').lower()}", code="required"
            )
        if value is not None and not self.allow_future and value > timezone.localdate():
            raise forms.ValidationError(
                f"{(self.label or 'The date').capitalize()} must be today or in the past",
                code="future",
            )
        if value is not None and value.year < 1900:
            raise forms.ValidationError(
                f"{(self.label or 'The date').capitalize()} must be after 1900", code="too_early"
            )


class PortalLoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "Enter a correct username and password. Both are case-sensitive.",
        "inactive": "This account is not active. Ask your organisation's administrator.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"].label = "Username"
        self.fields["username"].error_messages["required"] = "Enter your username"
        self.fields["password"].error_messages["required"] = "Enter your password"


class PortalPasswordChangeForm(PasswordChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Current password"
        self.fields["old_password"].error_messages["required"] = "Enter your current password"
        self.fields["new_password1"].error_messages["required"] = "Enter a new password"
        self.fields["new_password2"].error_messages["required"] = "Enter the new password again"


class VersionedForm(forms.Form):
    """Every form that changes a claim carries the version the person saw (optimistic lock)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class StageForm(VersionedForm):
    stage = forms.ChoiceField(
        label="Stage", choices=Stage.choices, error_messages={"required": "Choose a stage"}
    )
    reason = forms.CharField(
        label="Why (optional)",
        help_text="Kept in the claim's history.",
        required=False,
        max_length=300,
    )

    def clean_stage(self):
        stage = self.cleaned_data["stage"]
        if self.initial.get("stage") == stage:
            raise forms.ValidationError("Choose a stage different from the current one")
        return stage


class DescriptionForm(VersionedForm):
    description = forms.CharField(
        label="Description",
        help_text="What the claim alleges, in a few sentences.",
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=10_000,
    )


class DatesForm(VersionedForm):
    """The trigger and completion dates of design.md §3.4, the ones a handler may record.
    A box left empty clears its date."""

    received_fields = RECEIVED_DATE_FIELDS
    done_fields = DONE_DATE_FIELDS

    reason = forms.CharField(label="Why (optional)", required=False, max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in (*RECEIVED_DATE_FIELDS, *DONE_DATE_FIELDS):
            # Extensions look forward; everything else has already happened.
            self.fields[name] = DateField(
                label=DATE_LABELS[name],
                required=False,
                allow_future=name == "defence_extended_to",
            )

    def received(self):
        return [self[name] for name in self.received_fields]

    def done(self):
        return [self[name] for name in self.done_fields]

    def changes(self, claim: Claim) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in (*RECEIVED_DATE_FIELDS, *DONE_DATE_FIELDS)
            if self.cleaned_data.get(name) != getattr(claim, name)
        }


class DeadlineMeetForm(VersionedForm):
    met_on = DateField(label="Date it was done", allow_future=False, required=True)
    note = forms.CharField(
        label="Note (optional)",
        help_text="For example, how it was sent. Kept in the claim's history.",
        required=False,
        max_length=300,
    )


class NoteForm(VersionedForm):
    text = forms.CharField(
        label="Note",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=10_000,
        error_messages={"required": "Write the note before saving it"},
    )


_HEAD_CHOICES = [("", "Choose a head"), *MoneyHead.choices]


class ReserveForm(VersionedForm):
    head = forms.ChoiceField(
        label="Head", choices=_HEAD_CHOICES, error_messages={"required": "Choose a head"}
    )
    amount = forms.CharField(
        label="Reserve",
        help_text="The whole expected cost under this head, in pounds and pence.",
        max_length=20,
        error_messages={"required": "Enter the reserve in pounds"},
    )
    reason = forms.CharField(label="Why (optional)", required=False, max_length=300)


class PaymentForm(VersionedForm):
    head = forms.ChoiceField(
        label="Head", choices=_HEAD_CHOICES, error_messages={"required": "Choose a head"}
    )
    amount = forms.CharField(
        label="Amount paid",
        help_text="In pounds and pence.",
        max_length=20,
        error_messages={"required": "Enter the amount paid"},
    )
    paid_on = DateField(label="Date paid", allow_future=False, required=True)
    payee_type = forms.ChoiceField(
        label="Paid to",
        choices=[("", "Choose who was paid"), *Payment.PayeeType.choices],
        error_messages={"required": "Choose who was paid"},
    )
    payee_name = forms.CharField(label="Payee's name (optional)", required=False, max_length=200)
    reference = forms.CharField(
        label="Invoice or payment reference (optional)", required=False, max_length=100
    )


class AssignForm(VersionedForm):
    assignee = forms.ModelChoiceField(
        label="Handler",
        queryset=None,
        empty_label="Choose a handler",
        error_messages={
            "required": "Choose a handler",
            "invalid_choice": "Choose a handler from your organisation",
        },
    )
    reason = forms.CharField(label="Why (optional)", required=False, max_length=300)

    def __init__(self, *args, colleagues, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = colleagues
        self.fields["assignee"].label_from_instance = lambda user: (
            user.get_full_name() or user.get_username()
        )


DEADLINE_WINDOWS = [
    ("", "Any time"),
    ("overdue", "Overdue"),
    ("7", "Due in the next 7 days"),
    ("14", "Due in the next 14 days"),
    ("30", "Due in the next 30 days"),
]


class ClaimFilterForm(forms.Form):
    """design.md §3.3 filters as a person uses them; every field optional."""

    q = forms.CharField(
        label="Search",
        help_text="Claim reference, your reference, claimant's name or NHS number.",
        required=False,
        max_length=200,
    )
    status = forms.ChoiceField(
        label="Status",
        choices=[("open", "Open"), ("closed", "Closed"), ("all", "Open and closed")],
        required=False,
    )
    stage = forms.ChoiceField(
        label="Stage", choices=[("", "Any stage"), *Stage.choices], required=False
    )
    scheme = forms.ChoiceField(label="Scheme", choices=[], required=False)
    deadline = forms.ChoiceField(label="Deadlines", choices=DEADLINE_WINDOWS, required=False)
    mine = forms.BooleanField(label="Only claims assigned to me", required=False)

    def __init__(self, *args, schemes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scheme"].choices = [("", "Any scheme"), *schemes]
