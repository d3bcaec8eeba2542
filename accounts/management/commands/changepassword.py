"""Django's ``changepassword`` (the same prompts, checks and messages), but the new
password goes through ``accounts.services.user_set_password``: the password field alone
is written (Django's command saves the whole user, which would write back a stale
``active_chats`` moved meanwhile by routing), and every socket of the user closes, as a
change in the admin or over the API does."""

import getpass

from django.contrib.auth.management.commands import changepassword
from django.core.management.base import CommandError

from accounts import services
from accounts.models import User
from chat_project.errors import ValidationFailed

MAX_TRIES = 3


class Command(changepassword.Command):
    def handle(self, *args, **options):
        username = options["username"] or getpass.getuser()
        user = User.objects.using(options["database"]).filter(username=username).first()
        if user is None:
            raise CommandError(f"user '{username}' does not exist")
        self.stdout.write(f"Changing password for user '{user}'")
        for _ in range(MAX_TRIES):
            first = self._get_pass()
            if first != self._get_pass("Password (again): "):
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                services.user_set_password(user=user, password=first)
            except ValidationFailed as exc:
                for message in exc.details["fields"]["password"]:
                    self.stderr.write(message)
                continue
            return f"Password changed successfully for user '{user}'"
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
