"""Forms of the caseworkers' admin pages. They check what a person typed; the services decide
what may be done (and check again, under a lock)."""

import datetime
from decimal import Decimal

from django import forms
from django.utils import timezone

from claims.models import Claim, MoneyHead, Outcome, Payment
from claims.selectors import claim_clinician_links
from claims.services import CLAIM_EDITABLE_FIELDS
from members.models import Member
from members.selectors import members_of_keys
from members.validators import nhs_number_normalise


class DateInput(forms.DateInput):
    """The browser's own date picker; the value travels as YYYY-MM-DD."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


def members_from_keys(text: str) -> list[Member]:
    """Clinicians named by their member keys (`GMC:1234567`, as the API names them), one a line
    or separated by commas or semicolons, in the order given; one query for all of them."""
    keys = [
        part.strip() for chunk in text.splitlines() for part in chunk.replace(";", ",").split(",")
    ]
    keys = [key for key in keys if key]
    parsed = []
    for key in keys:
        body, _, number = key.partition(":")
        if not number:
            raise forms.ValidationError(
                f"{key!r} is not a member key: write the body and number, e.g. GMC:1234567.",
                code="invalid_key",
            )
        parsed.append((body.strip().upper(), number.strip()))
    if len(set(parsed)) != len(parsed):
        raise forms.ValidationError("Name each clinician once.", code="duplicate")
    found = members_of_keys(parsed)
    missing = [f"{body}:{number}" for body, number in parsed if (body, number) not in found]
    if missing:
        raise forms.ValidationError(
            f"No member with the key {', '.join(missing)}: add them under Members first.",
            code="unknown_member",
        )
    return [found[key] for key in parsed]


class ClaimAdminForm(forms.ModelForm):
    """The claim's editable facts. `clinicians` names the clinicians in order (routing orders
    segments by clinician); `expected_version` is the version the form was drawn from, so a
    save over someone else's newer change is refused instead of overwriting it."""

    clinicians = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40}),
        help_text="One member key a line, in order: GMC:1234567, NMC:12A3456B, GPHC:2012345.",
    )
    expected_version = forms.IntegerField(required=False, widget=forms.HiddenInput)
    claimant_nhs_number = forms.CharField(
        label="Claimant NHS number",
        max_length=20,
        required=False,
        help_text="10 digits, with or without spaces (943 476 5919).",
    )

    class Meta:
        model = Claim
        # ClaimAdmin's fieldsets choose what is shown; these are all that could be.
        fields = [
            *sorted(CLAIM_EDITABLE_FIELDS - {"practice_id", "status", "outcome"}),
            "source_organisation",
        ]
        # The box of member keys is this form's own field, filled in __init__; left out of
        # model_to_dict, which would read the members a second time, out of order.
        exclude = ["clinicians"]  # noqa: DJ006 (with fields; see above)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version
            # The box shows the clinicians' keys, in the sender's order.
            self.initial["clinicians"] = "\n".join(
                link.member.key for link in claim_clinician_links(self.instance)
            )

    def clean_claimant_nhs_number(self) -> str:
        return nhs_number_normalise(self.cleaned_data.get("claimant_nhs_number") or "")

    def clean_clinicians(self) -> list[Member]:
        return members_from_keys(self.cleaned_data.get("clinicians") or "")

    @property
    def changed_data(self):
        # The clinicians field compares text: the same keys typed differently is no change.
        changed = super().changed_data
        if "clinicians" in changed and self.is_bound and hasattr(self, "cleaned_data"):
            initial = [k for k in str(self.initial.get("clinicians") or "").split("\n") if k]
            now = [m.key for m in self.cleaned_data.get("clinicians") or []]
            if initial == now:
                changed = [name for name in changed if name != "clinicians"]
        return [name for name in changed if name != "expected_version"]

    def clean(self):
        cleaned = super().clean()
        expected = cleaned.get("expected_version")
        if self.instance.pk and expected is not None:
            current = Claim.objects.filter(pk=self.instance.pk).values_list("version", flat=True)
            if current.first() != expected:
                raise forms.ValidationError(
                    "Someone changed this claim after you opened it, so nothing was saved. "
                    "Open the claim again to see their change, then make yours.",
                    code="stale",
                )
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Kept in the audit trail.",
    )


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Optional; kept in the claims' routing history.",
    )


class CloseForm(ReasonForm):
    outcome = forms.ChoiceField(choices=[("", "Choose an outcome"), *Outcome.choices])
    field_order = ["outcome", "reason"]


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=None,
        empty_label="Choose a person",
        help_text="NHS Resolution caseworkers and team leads can be given any claim; an MDO's "
        "handlers and team leads only claims their organisation handles a part of.",
    )
    reason = forms.CharField(
        max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60})
    )

    def __init__(self, *args, assignees, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = assignees
        self.fields["assignee"].label_from_instance = self.assignee_label

    @staticmethod
    def assignee_label(user) -> str:
        handler = user.handler
        name = user.get_full_name() or user.get_username()
        return f"{name} ({handler.organisation.code} {handler.get_role_display().lower()})"


class DeadlineWaiveForm(ReasonForm):
    version = forms.IntegerField(widget=forms.HiddenInput)


class DeadlineMeetForm(forms.Form):
    on = forms.DateField(
        label="Done on",
        widget=DateInput,
        help_text="The day it was done; recorded on the claim as the date that meets it.",
    )
    note = forms.CharField(max_length=300, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean_on(self) -> datetime.date:
        on = self.cleaned_data["on"]
        if on > timezone.localdate():
            raise forms.ValidationError("The date must be today or in the past.", code="future")
        return on


class ReserveForm(forms.Form):
    head = forms.ChoiceField(choices=MoneyHead.choices)
    amount = forms.DecimalField(
        label="Amount (£)", max_digits=14, decimal_places=2, min_value=Decimal("0")
    )
    reason = forms.CharField(max_length=300, required=False)
    version = forms.IntegerField(widget=forms.HiddenInput)


class PaymentForm(forms.Form):
    head = forms.ChoiceField(choices=MoneyHead.choices)
    amount = forms.DecimalField(
        label="Amount (£)", max_digits=14, decimal_places=2, min_value=Decimal("0.01")
    )
    paid_on = forms.DateField(widget=DateInput)
    payee_type = forms.ChoiceField(choices=Payment.PayeeType.choices)
    payee_name = forms.CharField(max_length=200, required=False)
    reference = forms.CharField(max_length=100, required=False, help_text="Invoice or payment ref.")
    version = forms.IntegerField(widget=forms.HiddenInput)

    def clean_paid_on(self) -> datetime.date:
        paid_on = self.cleaned_data["paid_on"]
        if paid_on > timezone.localdate():
            raise forms.ValidationError("A payment cannot be recorded before it is made.")
        return paid_on


class NoteForm(forms.Form):
    text = forms.CharField(label="Note", widget=forms.Textarea(attrs={"rows": 4, "cols": 80}))
