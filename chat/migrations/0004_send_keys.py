# Send keys (chat.models.SendKey) and Room.seq_at (chat.holes): the exactly-once guard the timeline writer inserts
# before a message takes its seq. Messages stored before this migration get their key
# here, so that a retry of one of them is caught before it takes a seq too.

import django_mongodb_backend.fields
from django.db import migrations, models

BATCH = 1000


def backfill_send_keys(apps, schema_editor):
    events = schema_editor.connection.get_collection("chat_roomevent")
    keys = schema_editor.connection.get_collection("chat_sendkey")
    batch = []
    query = {"kind": "message", "idem_key": {"$gt": ""}}
    for doc in events.find(query, {"idem_key": 1, "room_id": 1}):
        batch.append({"_id": doc["idem_key"], "room_id": doc["room_id"]})
        if len(batch) >= BATCH:
            _insert(keys, batch)
            batch = []
    if batch:
        _insert(keys, batch)


def _insert(keys, batch):
    from pymongo.errors import BulkWriteError

    try:
        keys.insert_many(batch, ordered=False)
    except BulkWriteError:  # keys already there (a re-run): fine
        pass


class Migration(migrations.Migration):

    dependencies = [
        ("chat", "0003_search_terms"),
    ]

    operations = [
        migrations.CreateModel(
            name="SendKey",
            fields=[
                (
                    "id",
                    models.CharField(
                        db_column="_id", max_length=160, primary_key=True, serialize=False
                    ),
                ),
                ("room_id", django_mongodb_backend.fields.ObjectIdField()),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.RunPython(backfill_send_keys, migrations.RunPython.noop),
        migrations.AddField(
            model_name="room",
            name="seq_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
