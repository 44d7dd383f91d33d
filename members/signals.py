"""What members tells the layers above it. members may not import them (dependencies point one
way: members <- schemes <- claims), so it announces, and claims listens (claims/apps.py)."""

from django.dispatch import Signal

# Memberships or employments of `member_ids` were created, changed or deleted; sent inside the
# transaction that changed them, with the `actor` who did it and the `cause` to record. claims
# re-routes the open claims that read those members (claims_of_members_reroute). Sent by
# members.services.member_cover_changed, never by a model's save: bulk writers send it once
# for a whole batch.
cover_changed = Signal()
