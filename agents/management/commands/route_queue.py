from django.core.management.base import BaseCommand

from agents import services


class Command(BaseCommand):
    help = (
        "Drain the queue now: assign waiting rooms, head first, to eligible agents "
        "(normally this happens at once on every event that frees capacity). Idempotent."
    )

    def handle(self, *args, **options):
        before = len(services.queue_snapshot())
        assigned = services.queue_drain()
        self.stdout.write(
            f"queued before: {before}; assigned: {assigned}; still queued: {before - assigned}"
        )
