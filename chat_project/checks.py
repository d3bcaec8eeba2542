"""System checks of the project's own settings (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured


@register(Tags.security, deploy=True)
def fast_password_hasher_off(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """FAST_PASSWORD_HASHER puts MD5 first and lets DEBUG-off runs use the public
    development key: tests and benchmarks only."""
    if not settings.FAST_PASSWORD_HASHER:
        return []
    return [
        Warning(
            "FAST_PASSWORD_HASHER is on: passwords are hashed with MD5 and the public "
            "development key is allowed. Never in production.",
            id="chat_project.W001",
        )
    ]


@register(Tags.security)
def allowed_origins_are_origins(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """WS_ALLOWED_ORIGINS entries are full origins (chat_project.origins): a bare host,
    which used to match any scheme and port, is an error rather than a silent change."""
    from chat_project.origins import AllowedOrigins

    try:
        AllowedOrigins(settings.WS_ALLOWED_ORIGINS)
    except ImproperlyConfigured as exc:
        return [Error(str(exc), id="chat_project.E001")]
    return []
