from django.core.management.base import BaseCommand

from accounts import maintenance
from chat import typing_state


class Command(BaseCommand):
    help = (
        "Remove expired sessions (database and cache), presence entries whose leases ran "
        "out, and stale typing state, and print what was removed. Safe to run at any time "
        "and repeatedly."
    )

    def handle(self, *args, **options):
        report = maintenance.expired_state_cleanup()
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(f"stale typing entries removed: {typing_state.typing_stale_purge()}")
