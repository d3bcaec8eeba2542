from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"

    def ready(self) -> None:
        from django.conf import settings

        if settings.WEBHOOKS_IN_GATEWAY:
            from accounts import liveness
            from integrations import async_services

            # The gateway's event loop calls this; the tick itself runs on the app's own
            # thread (async_services), never on the loop nor on the database hop pool.
            liveness.register_periodic_hook(
                settings.WEBHOOK_TICK_SECONDS, async_services.webhooks_tick
            )
