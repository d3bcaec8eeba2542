from django.core.management.base import BaseCommand

from agents import services


class Command(BaseCommand):
    help = (
        "Recount every agent's active chats from the rooms and repair counters that "
        "drifted (e.g. after a crash between reserving a slot and claiming a room). "
        "Prints each fix. Idempotent."
    )

    def handle(self, *args, **options):
        fixes = services.agents_reconcile()
        for agent, old, new in fixes:
            self.stdout.write(f"{agent.username}: active_chats {old} -> {new}")
        self.stdout.write(f"agents repaired: {len(fixes)}")
