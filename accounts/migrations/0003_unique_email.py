"""E-mail addresses unique without regard to case (issue 27, item 7).

Before this, two registrations with one address both got 201, so existing data may hold
duplicates (``Alice@example.com`` and ``alice@example.com`` are the same address). Before
the unique index is built, each address held by more than one account is **kept on the
oldest account** (earliest ``date_joined``, then lowest id: the one that registered it
first) and **cleared on the others** (their ``email`` becomes empty).

Why clear rather than rename: a made-up address (``alice+2@example.com``, or a
suffix) may be a real mailbox, someone else's or the same person's, and mail would go
there; an empty address sends nothing anywhere and is what accounts without an address
already have. The accounts whose address was cleared still sign in by username; an
admin can give them a new address in the admin.

What it did is printed and kept: one ``accounts.ClearedEmail`` row per cleared account
(the account, the address it had, the account that kept it, when), in the collection
``accounts_clearedemail``. Deterministic: the same data gives the same result, and a second run finds
nothing to do.
"""

from collections import defaultdict
from datetime import UTC, datetime

import django.db.models.deletion
import django_mongodb_backend.fields
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

import accounts.models

_LATEST = datetime.max.replace(tzinfo=UTC)  # an account without date_joined sorts last


def backfill_and_deduplicate(apps, schema_editor):
    from pymongo import UpdateOne

    users = schema_editor.connection.get_collection("accounts_user")
    by_key = defaultdict(list)
    for doc in users.find({}, {"email": 1, "date_joined": 1, "username": 1}):
        by_key[accounts.models.email_key(doc.get("email"))].append(doc)
    updates, cleared = [], []
    for key in sorted(by_key, key=lambda k: k or ""):
        holders = sorted(by_key[key], key=lambda d: (d.get("date_joined") or _LATEST, d["_id"]))
        keeper = holders[0]
        for doc in holders:
            if key is None or doc is keeper:
                change = {"email_key": key}
            else:
                change = {"email": "", "email_key": None}
                cleared.append((doc, keeper))
            updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": change}))
    if updates:
        users.bulk_write(updates, ordered=False)
    ClearedEmail = apps.get_model("accounts", "ClearedEmail")
    now = timezone.now()
    ClearedEmail.objects.bulk_create(
        ClearedEmail(
            user_id=doc["_id"],
            email=doc.get("email") or "",
            kept_by_id=keeper["_id"],
            cleared_at=now,
        )
        for doc, keeper in cleared
    )
    if cleared:
        print(  # noqa: T201  (a migration says what it did)
            f"\n  accounts.0003: {len(cleared)} account(s) shared an e-mail address with an "
            "older account; the address was kept on the oldest and cleared on these "
            "(accounts.ClearedEmail):"
        )
        for doc, keeper in cleared:
            print(  # noqa: T201
                f"    {doc.get('username')} ({doc['_id']}): {doc.get('email')!r} cleared, "
                f"kept by {keeper.get('username')} ({keeper['_id']})"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_name_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_key",
            field=accounts.models.EmailKeyField(),
        ),
        migrations.CreateModel(
            name="ClearedEmail",
            fields=[
                (
                    "id",
                    django_mongodb_backend.fields.ObjectIdAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("email", models.CharField(max_length=254)),
                ("cleared_at", models.DateTimeField()),
                (
                    "kept_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-cleared_at", "user"]},
        ),
        migrations.RunPython(backfill_and_deduplicate, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="user",
            index=models.Index(fields=["email_key", "username"], name="user_email_key_username"),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.UniqueConstraint(
                condition=models.Q(("email_key__gt", "")),
                fields=("email_key",),
                name="user_email_key_unique",
            ),
        ),
    ]
