# Routing's fields on rooms (issue 15): the team whose queue a room is in, the skills it needs,
# when it joined its team's queue, whether it was created while the team was closed; and the
# (status, team_id, queued_at) index of the per-team queues. Rooms from before are in the
# general queue (a missing team_id matches null).

import django_mongodb_backend.fields
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0005_agent_tools'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='room',
            name='created_offline',
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddField(
            model_name='room',
            name='required_skills',
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
        migrations.AddField(
            model_name='room',
            name='team_at',
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name='room',
            name='team_id',
            field=django_mongodb_backend.fields.ObjectIdField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name='room',
            index=models.Index(fields=['status', 'team_id', 'queued_at'], name='chat_room_status_team_queued'),
        ),
    ]
