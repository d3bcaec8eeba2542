"""URL converters for MongoDB ObjectIds (and webhook delivery ids): anything else does not
match the route, so a malformed id is a 404 before any view or query runs."""

from bson import ObjectId


class ObjectIdConverter:
    regex = "[0-9a-fA-F]{24}"

    def to_python(self, value: str) -> ObjectId:
        return ObjectId(value)

    def to_url(self, value: ObjectId | str) -> str:
        return str(value)


class DeliveryIdConverter:
    """A webhook delivery's id: an outbox delivery's ObjectId, or a sent row's delivery,
    "<row id>-<endpoint id>" (``integrations.selectors.sent_delivery_id``)."""

    regex = "[0-9a-fA-F]{24}(?:-[0-9a-fA-F]{24})?"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return str(value)
