from django.apps import AppConfig
from django.conf import settings


class CompatConfig(AppConfig):
    """The compatibility edge for the reference design's own clients (issue 27): an app of
    its own, on top of the four, because it translates all of them (statistics
    included); nothing imports it, and it holds no rule of its own."""

    name = "compat"
    verbose_name = "Compatibility edge"

    def ready(self) -> None:
        from chat_project.gateway.socketio import register_namespace
        from compat.gateway import NAMESPACE, CompatWire

        register_namespace(NAMESPACE, CompatWire, enabled=lambda: settings.COMPAT_ENABLED)
