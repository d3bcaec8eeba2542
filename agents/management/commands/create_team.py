from datetime import date

from django.core.management.base import BaseCommand, CommandError

from agents import services
from agents.hours import parse_week
from chat_project.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create a team, or change the settings given of an existing one (idempotent): "
        "members are added; --hours and --holidays replace the old ones."
    )

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--members", default="", help="agent usernames, comma-separated")
        parser.add_argument("--time-zone", help="IANA name, e.g. Europe/Paris (default UTC)")
        parser.add_argument(
            "--hours",
            help="weekly opening hours, e.g. 'mon-fri 09:00-17:00, sat 10:00-14:00' "
            "(an empty string: always open)",
        )
        parser.add_argument("--holidays", help="closed days, YYYY-MM-DD, comma-separated")
        parser.add_argument("--offline-message", help="what customers read while closed")
        parser.add_argument("--overflow-after", type=int, help="seconds (with --fallback)")
        parser.add_argument("--fallback", help="the team that takes the overflow")
        parser.add_argument("--description")
        parser.add_argument(
            "--unlisted", action="store_true", help="not offered in the customer's picker"
        )

    def handle(self, *args, **options):
        try:
            hours = None if options["hours"] is None else parse_week(options["hours"])
            holidays = None
            if options["holidays"] is not None:
                holidays = [
                    date.fromisoformat(day.strip())
                    for day in options["holidays"].split(",")
                    if day.strip()
                ]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if (options["overflow_after"] is None) != (options["fallback"] is None):
            raise CommandError("Give --overflow-after and --fallback together.")
        try:
            team, created = services.team_create(
                name=options["name"],
                members=[m.strip() for m in options["members"].split(",") if m.strip()],
                time_zone=options["time_zone"],
                hours=hours,
                holidays=holidays,
                offline_message=options["offline_message"],
                overflow_after_seconds=options["overflow_after"],
                fallback=options["fallback"],
                description=options["description"],
                listed=False if options["unlisted"] else None,
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message} {exc.details or ''}".strip()) from exc
        verb = "created" if created else "updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} team {team.name} ({team.pk})"))
