"""``GET /api/health``: each dependency answers a ping, or the check names it.

The answer comes within ``HEALTH_TIMEOUT_SECONDS`` whatever the dependencies do, or
within the request's own bound if that comes first (``chat_project.deadlines``: past it
the edge answers a bare 503, which would not say which dependency failed): both pings
run at once on their own threads, each bounded (pymongo's ``timeout()`` for the
database, which covers server selection too), and a ping that has not answered by then
is reported as ``error: timeout``."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import pymongo
from django.conf import settings
from django.db import connections
from django_redis import get_redis_connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat_project import deadlines, drain

# Pings that outlive their answer finish here, never on a request's thread.
_pings = ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")


def check_database() -> str:
    try:
        with pymongo.timeout(settings.HEALTH_TIMEOUT_SECONDS):
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
    pending = {"database": _pings.submit(check_database), "redis": _pings.submit(check_redis)}
    answer_by = deadlines.now() + deadlines.remaining(settings.HEALTH_TIMEOUT_SECONDS)
    checks = {}
    for name, future in pending.items():
        try:
            checks[name] = future.result(timeout=max(0.0, answer_by - deadlines.now()))
        except FutureTimeout:
            checks[name] = "error: timeout"
    return checks


class HealthApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses=inline_serializer(
            "Health", {"status": serializers.CharField(), "checks": serializers.DictField()}
        )
    )
    def get(self, request: Request) -> Response:
        if drain.is_draining():  # going away (SIGTERM): out of the proxy's rotation
            return Response({"status": "draining", "checks": {}}, status=503)
        checks = dependency_checks()
        healthy = all(value == "ok" for value in checks.values())
        return Response(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status=200 if healthy else 503,
        )
