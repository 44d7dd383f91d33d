import secrets

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from handlers.models import Handler
from handlers.services import account_create


class Command(BaseCommand):
    help = "Create an account with a role: caseworker, team_lead, handler, importer or auditor."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Handler.Role.values)
        parser.add_argument(
            "--organisation", help="Handler organisation code (NHSR, MPS, MDU, MDDUS, ...)"
        )
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--password", help="Initial password; a random one is generated and printed if absent"
        )

    def handle(self, *args, **options):
        password = options["password"] or secrets.token_urlsafe(12)
        try:
            user, token = account_create(
                actor=None,
                username=options["username"],
                role=options["role"],
                organisation_code=options["organisation"],
                email=options["email"],
                password=password,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} ({options['role']})."))
        if not options["password"]:
            self.stdout.write(f"Password: {password}")
        if token is not None:
            self.stdout.write(f"API token: {token.key}")
