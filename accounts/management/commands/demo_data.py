from django.core.management.base import BaseCommand

from accounts import demo


class Command(BaseCommand):
    help = (
        "Load the demo logins listed in the README (admin; agent1-3; alice, bob; password "
        "chat-demo-2026). Idempotent: existing users are left as they are."
    )

    def handle(self, *args, **options):
        for username, created in demo.demo_people_ensure():
            self.stdout.write(f"{'created' if created else 'exists '} {username}")
        self.stdout.write(f"demo password: {demo.DEMO_PASSWORD}")
