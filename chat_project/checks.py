"""System checks of the project's own settings (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


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
