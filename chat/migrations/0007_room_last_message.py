from django.db import migrations, models


def backfill_last_messages(apps, schema_editor):
    """Rooms stored before: their newest message, read once here."""
    from chat import dtos

    rooms = schema_editor.connection.get_collection("chat_room")
    events = schema_editor.connection.get_collection("chat_roomevent")
    for room in rooms.find({"last_message": None}, {"_id": 1}):
        newest = events.find_one(
            {"room_id": room["_id"], "kind": "message"}, sort=[("seq", -1)]
        )
        if newest is not None:
            rooms.update_one(
                {"_id": room["_id"]}, {"$set": {"last_message": dtos.message_summary_doc(newest)}}
            )


class Migration(migrations.Migration):
    """Issue 27: a room's newest message kept on the room (room lists read no message
    per room) and the agents routing skips for it (an admin removed them)."""

    dependencies = [
        ("chat", "0006_teams"),
    ]

    operations = [
        migrations.AddField(
            model_name="room",
            name="last_message",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="room",
            name="skip_agents",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.RunPython(backfill_last_messages, migrations.RunPython.noop),
    ]
