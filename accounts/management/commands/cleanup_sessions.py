from django.core.management.base import BaseCommand

from accounts import maintenance, signals


class Command(BaseCommand):
    help = (
        "Remove expired sessions (database and cache), presence entries whose leases ran "
        "out, and the other apps' stale ephemeral state (chat: typing), and print what was "
        "removed. Safe to run at any time and repeatedly."
    )

    def handle(self, *args, **options):
        report = maintenance.expired_state_cleanup()
        for line in report.lines():
            self.stdout.write(line)
        for _receiver, lines in signals.cleanup_requested.send(sender=self.__class__):
            for line in lines or ():
                self.stdout.write(line)
