# Teams, members, business hours, holidays, skills, topics and messages left while closed
# (issue 15); the routing audit log gets the team of each row.

import agents.models
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import django_mongodb_backend.fields
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0003_canned_responses'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Skill',
            fields=[
                ('id', django_mongodb_backend.fields.ObjectIdAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=40, unique=True, validators=[django.core.validators.RegexValidator('^[a-z0-9][a-z0-9_-]{0,39}$', 'Lowercase letters, digits, - and _ (at most 40).')])),
                ('label', models.CharField(blank=True, default='', max_length=80)),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.AddField(
            model_name='routingaudit',
            name='team_id',
            field=django_mongodb_backend.fields.ObjectIdField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='routingaudit',
            name='to_team_id',
            field=django_mongodb_backend.fields.ObjectIdField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='routingaudit',
            name='action',
            field=models.CharField(choices=[('assigned', 'Assigned'), ('forced', 'Assigned past capacity'), ('transferred', 'Transferred'), ('requeued', 'Back to the queue'), ('reconciled', 'Load counter repaired'), ('overflowed', 'Overflowed to the fallback team'), ('skills', 'Required skills changed')], max_length=12),
        ),
        migrations.CreateModel(
            name='Team',
            fields=[
                ('id', django_mongodb_backend.fields.ObjectIdAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=80, unique=True)),
                ('description', models.CharField(blank=True, default='', max_length=200)),
                ('listed', models.BooleanField(default=True, help_text="Offered to customers in the page's topic picker.")),
                ('time_zone', models.CharField(default='UTC', help_text="The business hours' time zone (IANA, e.g. Europe/Paris).", max_length=64, validators=[agents.models.validate_timezone])),
                ('offline_message', models.TextField(blank=True, default='', help_text='What a customer who writes outside the hours reads.')),
                ('overflow_after_seconds', models.PositiveIntegerField(blank=True, help_text='Waiting longer than this moves a room to the fallback.', null=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('fallback', models.ForeignKey(blank=True, db_index=False, help_text="The team that takes this team's overflow.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='agents.team')),
            ],
            options={
                'ordering': ['name'],
            },
        ),
        migrations.CreateModel(
            name='OfflineMessage',
            fields=[
                ('id', django_mongodb_backend.fields.ObjectIdAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('room_id', django_mongodb_backend.fields.ObjectIdField(unique=True)),
                ('email', models.EmailField(max_length=254)),
                ('message', models.TextField()),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('customer', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('team', models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='agents.team')),
            ],
            options={
                'ordering': ['-created_at'],
            },
        ),
        migrations.CreateModel(
            name='TeamHoliday',
            fields=[
                ('id', django_mongodb_backend.fields.ObjectIdAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('date', models.DateField()),
                ('name', models.CharField(blank=True, default='', max_length=80)),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='holidays', to='agents.team')),
            ],
            options={
                'ordering': ['team', 'date'],
            },
        ),
        migrations.CreateModel(
            name='TeamHours',
            fields=[
                ('id', django_mongodb_backend.fields.ObjectIdAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('weekday', models.IntegerField(choices=[(0, 'Monday'), (1, 'Tuesday'), (2, 'Wednesday'), (3, 'Thursday'), (4, 'Friday'), (5, 'Saturday'), (6, 'Sunday')])),
                ('opens', models.TimeField()),
                ('closes', models.TimeField(help_text='00:00 is midnight at the end of the day.')),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='hours', to='agents.team')),
            ],
            options={
                'verbose_name_plural': 'team hours',
                'ordering': ['team', 'weekday', 'opens'],
            },
        ),
        migrations.CreateModel(
            name='Topic',
            fields=[
                ('id', django_mongodb_backend.fields.ObjectIdAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.SlugField(max_length=40, unique=True)),
                ('label', models.CharField(max_length=80)),
                ('skills', models.CharField(blank=True, default='', max_length=200)),
                ('position', models.PositiveSmallIntegerField(default=0)),
                ('team', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='topics', to='agents.team')),
            ],
            options={
                'ordering': ['position', 'label'],
            },
        ),
        migrations.CreateModel(
            name='AgentSkill',
            fields=[
                ('id', django_mongodb_backend.fields.ObjectIdAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('level', models.PositiveSmallIntegerField(blank=True, null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(10)])),
                ('agent', models.ForeignKey(limit_choices_to={'role': 'agent'}, on_delete=django.db.models.deletion.CASCADE, related_name='skills', to=settings.AUTH_USER_MODEL)),
                ('skill', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='holders', to='agents.skill')),
            ],
            options={
                'ordering': ['agent', 'skill'],
                'constraints': [models.UniqueConstraint(fields=('agent', 'skill'), name='agents_agent_skill_once')],
            },
        ),
        migrations.CreateModel(
            name='TeamMember',
            fields=[
                ('id', django_mongodb_backend.fields.ObjectIdAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('agent', models.ForeignKey(limit_choices_to={'role': 'agent'}, on_delete=django.db.models.deletion.CASCADE, related_name='team_memberships', to=settings.AUTH_USER_MODEL)),
                ('team', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='members', to='agents.team')),
            ],
            options={
                'ordering': ['team', 'agent'],
                'constraints': [models.UniqueConstraint(fields=('team', 'agent'), name='agents_team_member_once')],
            },
        ),
    ]
