from django.core.management.base import BaseCommand

from chat import search_index, timeline


class Command(BaseCommand):
    help = (
        "Write the search terms of messages that have none (--all: of every message, "
        "after a change to chat/search_index.py's tokenizer or bounds)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="rewrite every message's terms")

    def handle(self, *args, **options):
        written = search_index.backfill(
            timeline.events_collection(), only_missing=not options["all"]
        )
        self.stdout.write(f"messages indexed: {written}")
