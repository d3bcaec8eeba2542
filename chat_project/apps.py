"""App configs for Django's contrib apps with MongoDB's ObjectId primary keys.

django-mongodb-backend needs every model's primary key to be an ObjectIdAutoField;
contrib apps pin ``default_auto_field`` in their own configs, so these override it
and their migrations live in ``chat_project/mongo_migrations`` (MIGRATION_MODULES).
"""

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig

OBJECT_ID_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"


class MongoAdminConfig(AdminConfig):
    default_auto_field = OBJECT_ID_FIELD


class MongoAuthConfig(AuthConfig):
    default_auto_field = OBJECT_ID_FIELD


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = OBJECT_ID_FIELD


class ChatProjectConfig(AppConfig):
    name = "chat_project"
    default_auto_field = OBJECT_ID_FIELD

    def ready(self) -> None:
        from chat_project import (
            checks,  # noqa: F401  (registers the deploy checks)
            drain,
            fanout,
            hops,
            metrics,
            schema,  # noqa: F401  (registers the OpenAPI auth scheme)
        )

        metrics.install_command_timer()  # before the first MongoClient
        metrics.watch_queue("fanout", fanout.queued)
        metrics.watch_queue("db_hop", hops.queued)
        metrics.watch_queue(
            "socket_inbox", lambda: sum(consumer._backlog() for consumer in list(drain.sockets))
        )
