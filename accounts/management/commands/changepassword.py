"""Django's ``changepassword``, whose new password also closes every socket of the user
(``accounts.services.user_update``), as a change in the admin or over the API does."""

import getpass

from django.contrib.auth.management.commands import changepassword

from accounts import services
from accounts.models import User


class Command(changepassword.Command):
    def handle(self, *args, **options):
        # Django's command prompts, validates and saves; the sockets close once it has
        # (writing the new hash again, alone, is what user_update does first).
        message = super().handle(*args, **options)
        user = User.objects.get(username=options["username"] or getpass.getuser())
        services.user_update(user=user, fields=["password"])
        return message
