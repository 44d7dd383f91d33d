"""Words the portal shows for codes (presentation only; the codes are design.md's)."""

from claims.models import COMPLETION_DATE_FIELDS, TRIGGER_DATE_FIELDS

DEADLINE_LABELS = {
    "records_disclosure": "Disclose the health records",
    "acknowledge_letter_of_notification": "Acknowledge the letter of notification",
    "acknowledge_letter_of_claim": "Acknowledge the letter of claim",
    "letter_of_response": "Send the letter of response",
    "serve_claim_form": "Serve the claim form",
    "acknowledgment_of_service": "File the acknowledgment of service",
    "defence": "File the defence",
    "limitation": "Limitation: claim form issued by",
}

DATE_LABELS = {
    "records_requested_on": "Health records requested",
    "letter_of_notification_on": "Letter of notification received",
    "letter_of_claim_on": "Letter of claim received",
    "claim_form_issued_on": "Claim form issued",
    "particulars_served_on": "Particulars of claim served (deemed date)",
    "acknowledgment_of_service_on": "Acknowledgment of service filed",
    "defence_extended_to": "Defence deadline extended by agreement to",
    "records_disclosed_on": "Health records disclosed",
    "letter_of_notification_acknowledged_on": "Letter of notification acknowledged",
    "letter_of_claim_acknowledged_on": "Letter of claim acknowledged",
    "letter_of_response_sent_on": "Letter of response sent",
    "claim_form_served_on": "Claim form served",
    "defence_filed_on": "Defence filed",
}

# The dates in the order a claim meets them: what arrived, then what we did.
RECEIVED_DATE_FIELDS = tuple(f for f in TRIGGER_DATE_FIELDS if f not in COMPLETION_DATE_FIELDS)
DONE_DATE_FIELDS = COMPLETION_DATE_FIELDS

FIELD_LABELS = {
    **DATE_LABELS,
    "stage": "Stage",
    "status": "Status",
    "outcome": "Outcome",
    "description": "Description",
    "assigned_to": "Assigned to",
    "version": "Version",
    "scheme": "Scheme",
    "lead_handler": "Lead handler",
}

AUDIT_ACTIONS = {
    "claim.create": "Claim recorded",
    "claim.update": "Claim changed",
    "claim.assign": "Claim assigned",
    "claim.reserve": "Reserve set",
    "claim.payment": "Payment recorded",
    "claim.note": "Note added",
    "claim.route": "Routed",
    "claim.reroute": "Re-routed",
}


def deadline_label(kind: str) -> str:
    return DEADLINE_LABELS.get(kind, kind.replace("_", " ").capitalize())


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
