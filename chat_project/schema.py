"""OpenAPI: the session cookie, the one way this API authenticates, and the error
responses every operation documents (issue 18: the schema is the truth; Schemathesis
checks it against real responses in ``tests/api_contract``).

Every operation lists the statuses it can answer with the contract's envelope
(``{"error": {"code", "message", "details"}}``), derived from what the view is:

- 400 on every operation (any request can be malformed: a query string that is not
  UTF-8, a parameter or body out of range);
- 401 unless anyone may call it; 403 when a role is required or the method is unsafe
  (CSRF); 404 when the path names a resource;
- 413 and 415 when it takes a body (too large; not the declared media type);
- 429 when the operation is charged to the user's request budget
  (``chat_project.throttling``);
- and what only some views answer (409, 429, 503), declared on the view with
  ``extend_schema(responses={409: ERROR, ...})``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated

from chat_project import throttling
from chat_project.errors import ErrorCode


class SessionCookieScheme(OpenApiAuthenticationExtension):
    target_class = "chat_project.authentication.SessionAuthentication"
    name = "sessionCookie"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class ErrorSerializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=[code.value for code in ErrorCode])
    message = serializers.CharField()
    details = serializers.DictField(
        help_text="validation_error: {fields: {name: [messages]}}; others as documented."
    )


class ErrorEnvelopeSerializer(serializers.Serializer):
    error = ErrorSerializer()


ERROR = ErrorEnvelopeSerializer


class ContractAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status in sorted(self._error_statuses()):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    ERROR, str(status), direction=direction
                )
        return dict(sorted(responses.items()))

    def _error_statuses(self) -> set[int]:
        permissions = self.view.get_permissions()
        anyone = any(isinstance(p, AllowAny) for p in permissions)
        role_required = any(not isinstance(p, (AllowAny, IsAuthenticated)) for p in permissions)
        unsafe = self.method not in SAFE_METHODS
        statuses = {400}
        if not anyone:
            statuses |= {401, 403}
        if role_required or unsafe:
            statuses.add(403)
        if "{" in self.path:
            statuses.add(404)
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            statuses |= {413, 415}
        if throttling.schema_charged(self.path, self.method):
            statuses.add(429)  # the user's request budget
        return statuses
