import datetime

from django.core.management.base import BaseCommand, CommandError

from claims.deadline_services import deadlines_sweep


class Command(BaseCommand):
    help = "Send due deadline reminders and mark missed deadlines (what Celery beat runs daily)."

    def add_arguments(self, parser):
        parser.add_argument("--today", help="Run as if today were this date (YYYY-MM-DD)")

    def handle(self, *args, **options):
        today = None
        if options["today"]:
            try:
                today = datetime.date.fromisoformat(options["today"])
            except ValueError:
                raise CommandError("--today must be a date, YYYY-MM-DD.") from None
        result = deadlines_sweep(today=today)
        self.stdout.write(
            f"Reminded {result.reminded}, marked {result.missed} missed, "
            f"{result.notifications} notifications."
        )
