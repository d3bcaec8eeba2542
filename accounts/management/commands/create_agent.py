from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import Role, User
from chat_project.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create an agent (or, with --role admin, a support manager). Idempotent: an "
        "existing username is left as it is and reported."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", required=True)
        parser.add_argument("--display-name", default="")
        parser.add_argument("--max-chats", type=int, default=5)
        parser.add_argument("--role", choices=[Role.AGENT, Role.ADMIN], default=Role.AGENT)

    def handle(self, *args, **options):
        username = options["username"]
        if User.objects.filter(username=username).exists():
            self.stdout.write(f"{username} exists; unchanged")
            return
        try:
            user = services.user_create(
                username=username,
                email=options["email"] or f"{username}@example.invalid",
                password=options["password"],
                display_name=options["display_name"],
                role=options["role"],
                max_chats=options["max_chats"],
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message} {exc.details or ''}".strip()) from exc
        self.stdout.write(self.style.SUCCESS(f"created {user.role} {user.username} ({user.pk})"))
