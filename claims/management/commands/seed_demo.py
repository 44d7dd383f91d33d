import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from claims.demo_seed import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_seed


class Command(BaseCommand):
    help = "Add demo practices, members, memberships, claims and accounts (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--claims", type=int, default=2000, help="How many demo claims")
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never in production)"
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo adds demo accounts with a published password, so it refuses to run "
                "with DEBUG off. Pass --force if this really is a demo or test database."
            )
        if options["claims"] < 0:
            raise CommandError("--claims must be 0 or more.")
        started = time.monotonic()
        summary = demo_seed(claims=options["claims"])
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Added {summary.practices} practices, {summary.members} members, "
            f"{summary.memberships} memberships, "
            f"{summary.employments} employments, {summary.claims} claims, "
            f"{summary.accounts} accounts in {elapsed:.1f}s."
        )
        self.stdout.write("Demo logins (password for all: " + DEMO_PASSWORD + "):")
        for username, role, organisation in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<14} {role:<11} {organisation}")
