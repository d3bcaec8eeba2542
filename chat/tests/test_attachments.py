"""Attachment upload and download: the streaming size cap, type detection from the
bytes, safe names, and who may download."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chat import services
from chat.attachments import CappedUploadHandler, safe_filename
from chat.exceptions import PayloadTooLarge
from chat.models import Attachment
from chat.tests.factories import room_with_agent, send

pytestmark = pytest.mark.django_db(transaction=True)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 256
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
GIF = b"GIF89a" + b"\x00" * 64
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
TEXT = "plain text, ünïcode ok\n".encode()
HTML = b"<!DOCTYPE html><html><script>alert(1)</script></html>"


def error_code(response) -> str:
    return response.json()["error"]["code"]


@pytest.fixture
def room(customer, agent, media_root):
    return room_with_agent(customer, agent)


def upload(api, room, name: str, content: bytes, content_type: str = "image/png"):
    return api.post(
        f"/api/chat/rooms/{room.pk}/attachments",
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        fmt="multipart",
    )


def stored_files(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("content", "content_type", "extension"),
    [
        (PNG, "image/png", ".png"),
        (JPEG, "image/jpeg", ".jpg"),
        (GIF, "image/gif", ".gif"),
        (WEBP, "image/webp", ".webp"),
        (PDF, "application/pdf", ".pdf"),
        (TEXT, "text/plain", ".txt"),
    ],
)
def test_type_comes_from_the_bytes(api, room, media_root, content, content_type, extension):
    api.login("alice")
    # the client claims something else entirely
    response = upload(api, room, "upload.bin", content, content_type="application/x-evil")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == content_type
    assert body["filename"] == "upload" + extension
    assert body["size"] == len(content)
    assert body["url"] == f"/api/chat/attachments/{body['id']}"
    stored = Attachment.objects.get(pk=body["id"])
    assert stored.storage_name.startswith(f"chat/{room.pk}/")
    assert "upload" not in stored.storage_name  # the storage name is the server's
    assert (media_root / stored.storage_name).read_bytes() == content


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("innocent.png", HTML),
        ("notes.txt", b"  <html><body>hi</body></html>"),
        ("image.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>'),
        ("archive.png", b"PK\x03\x04" + b"\x00" * 64),
        ("binary.txt", b"\x00\x01\x02\x03"),
        ("latin1.txt", "caf\xe9".encode("latin-1")),
    ],
)
def test_disguised_or_unknown_types_are_415_and_nothing_is_stored(
    api, room, media_root, name, content
):
    api.login("alice")
    response = upload(api, room, name, content)
    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_allowlist_is_configurable(api, room, settings):
    settings.CHAT_ATTACHMENT_TYPES = ["image/png"]
    api.login("alice")
    assert upload(api, room, "doc.pdf", PDF).status_code == 415
    assert upload(api, room, "pic.png", PNG).status_code == 201


def test_oversized_upload_is_413_while_streaming(api, room, settings, media_root):
    settings.CHAT_ATTACHMENT_MAX_BYTES = 100 * 1024
    api.login("alice")
    # within the multipart slack, so only the streaming check can catch it
    response = upload(api, room, "big.png", PNG + b"\x00" * (120 * 1024))
    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"
    assert not Attachment.objects.exists()
    assert stored_files(media_root) == []


def test_declared_length_far_over_the_cap_is_refused_before_reading(api, room, settings):
    settings.CHAT_ATTACHMENT_MAX_BYTES = 1024
    api.login("alice")
    response = upload(api, room, "huge.png", PNG + b"\x00" * (512 * 1024))
    assert response.status_code == 413
    assert not Attachment.objects.exists()


def test_capped_handler_stops_at_the_first_chunk_past_the_cap():
    handler = CappedUploadHandler(None, max_bytes=10)
    handler.new_file("file", "a.png", "image/png", None)
    assert handler.receive_data_chunk(b"x" * 6, 0) == b"x" * 6
    with pytest.raises(PayloadTooLarge):
        handler.receive_data_chunk(b"x" * 6, 6)


def test_exactly_the_cap_is_accepted(api, room, settings):
    settings.CHAT_ATTACHMENT_MAX_BYTES = len(PNG)
    api.login("alice")
    assert upload(api, room, "edge.png", PNG).status_code == 201


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("..\\..\\windows\\system32\\evil.png", "evil.png"),
        ("/absolute/path/x.png", "x.png"),
        ("..", "file.png"),
        ("", "file.png"),
        (".htaccess", "htaccess.png"),
        ("na\x00me\r\n.png", "name.png"),
        ("report.final.exe", "report.final.png"),
        ('q"uote<>|?.png', "q_uote.png"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name, "image/png") == expected


def test_path_traversal_name_is_neutralised_over_http(api, room, media_root):
    api.login("alice")
    response = upload(api, room, "../../../etc/passwd.png", PNG)
    assert response.status_code == 201
    assert response.json()["filename"] == "passwd.png"
    stored = Attachment.objects.get()
    assert all(media_root in p.parents for p in stored_files(media_root))
    assert ".." not in stored.storage_name


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"data": {}, "fmt": "multipart"}, 400, "validation_error"),
        ({"data": {"file": "just a string"}, "fmt": "multipart"}, 400, "validation_error"),
        ({"data": {"file": "x"}, "fmt": "json"}, 415, "unsupported_media_type"),
    ],
)
def test_missing_or_non_multipart_upload(api, room, kwargs, status, code):
    api.login("alice")
    response = api.post(f"/api/chat/rooms/{room.pk}/attachments", **kwargs)
    assert response.status_code == status
    assert error_code(response) == code
    assert not Attachment.objects.exists()


def test_empty_file_is_400(api, room):
    api.login("alice")
    response = upload(api, room, "empty.txt", b"")
    assert response.status_code == 400
    assert not Attachment.objects.exists()


def test_upload_to_a_closed_room_is_room_closed(api, room, customer):
    services.room_close(room_id=str(room.pk), actor=customer)
    api.login("alice")
    response = upload(api, room, "pic.png", PNG)
    assert response.status_code == 409
    assert error_code(response) == "room_closed"


# --- sending and downloading ---------------------------------------------------------------


def test_download_headers(api, room, customer):
    api.login("alice")
    attachment = upload(api, room, "../Screen Shot.png", PNG).json()
    send(room, customer, "see file", attachment_ids=[attachment["id"]])
    api.login("agent1")
    response = api.get(attachment["url"])
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="Screen Shot.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]


def test_send_with_attachments_and_retry(api, room, customer):
    api.login("alice")
    attachment = upload(api, room, "a.png", PNG).json()
    body = {"client_msg_id": "with-file", "text": "", "attachment_ids": [attachment["id"]]}
    path = f"/api/chat/rooms/{room.pk}/messages"
    sent = api.post(path, body)
    assert sent.status_code == 201, sent.content
    assert sent.json()["attachments"] == [attachment]
    assert Attachment.objects.get(pk=attachment["id"]).message_id is not None
    retry = api.post(path, body)
    assert retry.status_code == 200
    assert retry.json() == sent.json()
    # the same file cannot be attached to a second message
    again = api.post(path, {**body, "client_msg_id": "second"})
    assert again.status_code == 400


def test_attachments_of_others_cannot_be_sent(api, room, customer, agent, other_customer):
    agent_file = services.attachment_upload(
        room_id=str(room.pk), uploader=agent, file=SimpleUploadedFile("a.png", PNG)
    )
    other_room = room_with_agent(other_customer, agent)
    foreign = services.attachment_upload(
        room_id=str(other_room.pk), uploader=other_customer, file=SimpleUploadedFile("b.png", PNG)
    )
    api.login("alice")
    for attachment in (agent_file, foreign):
        response = api.post(
            f"/api/chat/rooms/{room.pk}/messages",
            {"client_msg_id": attachment["id"], "text": "x", "attachment_ids": [attachment["id"]]},
        )
        assert response.status_code == 400
    assert Attachment.objects.filter(message__isnull=False).count() == 0


def test_an_unsent_upload_is_only_for_its_uploader(api, room, customer, support_admin):
    attachment = services.attachment_upload(
        room_id=str(room.pk), uploader=customer, file=SimpleUploadedFile("a.png", PNG)
    )
    for who, status in [("agent1", 404), ("alice", 200), ("admin", 200)]:
        api.login(who)
        assert api.get(attachment["url"]).status_code == status, who


def test_a_deleted_messages_file_is_only_for_admins(api, room, customer, support_admin):
    attachment = services.attachment_upload(
        room_id=str(room.pk), uploader=customer, file=SimpleUploadedFile("a.png", PNG)
    )
    message = send(room, customer, "oops", attachment_ids=[attachment["id"]])
    services.message_delete(room_id=str(room.pk), message_id=message["id"], actor=customer)
    for who, status in [("agent1", 404), ("alice", 404), ("admin", 200)]:
        api.login(who)
        assert api.get(attachment["url"]).status_code == status, who
