"""URL converter for MongoDB ObjectIds: anything that is not 24 hex digits does not
match the route, so a malformed id is a 404 before any view or query runs."""

from bson import ObjectId


class ObjectIdConverter:
    regex = "[0-9a-fA-F]{24}"

    def to_python(self, value: str) -> ObjectId:
        return ObjectId(value)

    def to_url(self, value: ObjectId | str) -> str:
        return str(value)
