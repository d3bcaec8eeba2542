from django.core.management.base import BaseCommand

from chat import services


class Command(BaseCommand):
    help = (
        "Forget edit originals, edit texts and deleted messages' texts older than "
        "CHAT_AUDIT_RETENTION_DAYS (run daily)."
    )

    def handle(self, *args, **options):
        purged = services.message_audit_purge()
        for name, count in purged.items():
            self.stdout.write(f"{name}: {count}")
