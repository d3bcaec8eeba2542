from django.core.management.base import BaseCommand

from accounts import maintenance


class Command(BaseCommand):
    help = (
        "Remove expired sessions (database and cache) and presence entries whose leases "
        "ran out, and print what was removed. Safe to run at any time and repeatedly."
    )

    def handle(self, *args, **options):
        report = maintenance.expired_state_cleanup()
        for line in report.lines():
            self.stdout.write(line)
