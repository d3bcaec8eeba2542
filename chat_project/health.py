"""``GET /api/health``: each dependency answers a ping, or the check names it."""

from __future__ import annotations

from django.db import connections
from django_redis import get_redis_connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


def check_database() -> str:
    try:
        connection = connections["default"]
        connection.ensure_connection()
        connection.connection.admin.command("ping")
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def check_redis() -> str:
    try:
        get_redis_connection("default").ping()
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def dependency_checks() -> dict[str, str]:
    return {"database": check_database(), "redis": check_redis()}


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "Health", {"status": serializers.CharField(), "checks": serializers.DictField()}
        )
    )
    def get(self, request: Request) -> Response:
        checks = dependency_checks()
        healthy = all(value == "ok" for value in checks.values())
        return Response(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status=200 if healthy else 503,
        )
