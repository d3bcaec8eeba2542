from drf_spectacular.utils import extend_schema
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chat_project.schema import ERROR
from integrations import selectors, services
from integrations.api.serializers import (
    DeliveryOutputSerializer,
    DeliveryPageSerializer,
    DeliveryQuerySerializer,
    EndpointCreatedSerializer,
    EndpointCreateInputSerializer,
    EndpointOutputSerializer,
    EndpointPageSerializer,
    EndpointUpdateInputSerializer,
)


class IsAdminRole(BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_admin)


def _parsed(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class WebhookListCreateApi(APIView):
    permission_classes = [IsAuthenticated, IsAdminRole]

    @extend_schema(operation_id="admin_webhooks_list", responses={200: EndpointPageSerializer})
    def get(self, request: Request) -> Response:
        return Response({"results": selectors.endpoint_list(), "next": None})

    @extend_schema(
        request=EndpointCreateInputSerializer, responses={201: EndpointCreatedSerializer}
    )
    def post(self, request: Request) -> Response:
        data = _parsed(EndpointCreateInputSerializer, request.data)
        return Response(services.endpoint_create(actor=request.user, **data), status=201)


class WebhookDetailApi(APIView):
    permission_classes = [IsAuthenticated, IsAdminRole]

    @extend_schema(responses={200: EndpointOutputSerializer})
    def get(self, request: Request, endpoint_id) -> Response:
        return Response(selectors.endpoint_detail(endpoint_id=endpoint_id))

    @extend_schema(request=EndpointUpdateInputSerializer, responses={200: EndpointOutputSerializer})
    def patch(self, request: Request, endpoint_id) -> Response:
        data = _parsed(EndpointUpdateInputSerializer, request.data)
        return Response(
            services.endpoint_update(actor=request.user, endpoint_id=endpoint_id, **data)
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request, endpoint_id) -> Response:
        services.endpoint_delete(actor=request.user, endpoint_id=endpoint_id)
        return Response(status=204)


class WebhookDeliveryListApi(APIView):
    permission_classes = [IsAuthenticated, IsAdminRole]

    @extend_schema(parameters=[DeliveryQuerySerializer], responses={200: DeliveryPageSerializer})
    def get(self, request: Request, endpoint_id) -> Response:
        query = _parsed(DeliveryQuerySerializer, request.query_params)
        rows = selectors.delivery_list(endpoint_id=endpoint_id, **query)
        return Response({"results": rows, "next": None})


class WebhookRedeliverApi(APIView):
    permission_classes = [IsAuthenticated, IsAdminRole]

    @extend_schema(request=None, responses={200: DeliveryOutputSerializer, 409: ERROR})
    def post(self, request: Request, delivery_id) -> Response:
        return Response(services.delivery_redeliver(actor=request.user, delivery_id=delivery_id))


class WebhookResumeApi(APIView):
    permission_classes = [IsAuthenticated, IsAdminRole]

    @extend_schema(request=None, responses={200: EndpointOutputSerializer})
    def post(self, request: Request, endpoint_id) -> Response:
        return Response(services.endpoint_resume(actor=request.user, endpoint_id=endpoint_id))
