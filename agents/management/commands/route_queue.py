from django.core.management.base import BaseCommand, CommandError

from agents import services
from agents.models import Team


class Command(BaseCommand):
    help = (
        "Drain the queues now: assign waiting rooms, head first, to eligible agents "
        "(normally this happens at once on every event that frees capacity). Idempotent. "
        "--team NAME: only that team's queue (--team general: the rooms without a team)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--team", help="a team's name, or 'general'")

    def handle(self, *args, **options):
        team_id = services.ALL
        if options["team"] is not None:
            if options["team"] == "general":
                team_id = None
            else:
                team = Team.objects.filter(name=options["team"]).first()
                if team is None:
                    raise CommandError(f"No team {options['team']!r}.")
                team_id = team.pk
        before = len(services.queue_snapshot(team_id=team_id))
        assigned = services.queue_drain(team_id=team_id)
        self.stdout.write(
            f"queued before: {before}; assigned: {assigned}; still queued: {before - assigned}"
        )
