from django.apps import AppConfig


class AdminstatsConfig(AppConfig):
    name = "adminstats"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
