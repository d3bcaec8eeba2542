from django.apps import AppConfig


class AdminstatsConfig(AppConfig):
    name = "adminstats"
    verbose_name = "Supervision"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"

    def ready(self) -> None:
        from django.contrib import admin

        from adminstats import dashboard

        dashboard.install(admin.site)
