"""Attachment uploads: a size cap enforced while the body streams in, the type taken
from the file's first bytes (never the client's name or Content-Type), and a safe
display filename.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import PurePosixPath

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest

from chat.exceptions import PayloadTooLarge, UnsupportedMediaType

SNIFF_BYTES = 2048
# Multipart framing around the one file: headers, boundaries, small fields.
MULTIPART_SLACK_BYTES = 64 * 1024

EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "text/plain": ".txt",
}

_MARKUP_PREFIXES = (
    b"<!doctype",
    b"<html",
    b"<head",
    b"<body",
    b"<script",
    b"<svg",
    b"<?xml",
    b"<iframe",
    b"<meta",
    b"<style",
    b"<img",
    b"<a ",
    b"<div",
    b"<!--",
)
_MARKUP_ANYWHERE = (b"<script", b"<html", b"<iframe", b"<svg", b"<body")


class CappedUploadHandler(FileUploadHandler):
    """First in the handler chain: counts each file's bytes as chunks arrive and stops
    the upload with ``payload_too_large`` as soon as the cap is passed (nothing past
    it is buffered or written). A declared Content-Length far over the cap is refused
    before the body is read."""

    def __init__(self, request: HttpRequest | None = None, *, max_bytes: int | None = None):
        super().__init__(request)
        self.max_bytes = max_bytes or settings.CHAT_ATTACHMENT_MAX_BYTES
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.max_bytes + MULTIPART_SLACK_BYTES:
            raise PayloadTooLarge(details={"max_bytes": self.max_bytes})

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            raise PayloadTooLarge(details={"max_bytes": self.max_bytes})
        return raw_data

    def file_complete(self, file_size: int):
        return None  # the next handler builds the file


def _binary_type(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def _is_utf8_text(file) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    file.seek(0)
    try:
        for chunk in iter(lambda: file.read(64 * 1024), b""):
            if b"\x00" in chunk:
                return False
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_content_type(file) -> str | None:
    """The type of a file from its bytes, or None if unrecognised.

    Text counts as ``text/plain`` only when it is valid UTF-8 without NUL bytes and
    does not look like markup: HTML or SVG named ``.png`` or ``.txt`` is
    ``text/html``, which the allowlist does not hold."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    content_type = _binary_type(head)
    if content_type is None and head and _is_utf8_text(file):
        lowered = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
        markup = lowered.startswith(_MARKUP_PREFIXES) or any(
            tag in lowered for tag in _MARKUP_ANYWHERE
        )
        content_type = "text/html" if markup else "text/plain"
    file.seek(0)
    return content_type


def sniff_file(file) -> str:
    """The detected type of an upload, checked against the allowlist."""
    content_type = detect_content_type(file)
    allowed = settings.CHAT_ATTACHMENT_TYPES
    if content_type is None or content_type not in allowed:
        raise UnsupportedMediaType(
            details={"detected": content_type or "unknown", "allowed": list(allowed)}
        )
    return content_type


_UNSAFE = re.compile(r"[^\w.\- ()]+")


def safe_filename(name: object, content_type: str) -> str:
    """The client's name reduced to its last path part and harmless characters, with
    the extension of the detected type (``../../etc/passwd`` -> ``passwd.txt``)."""
    raw = str(name or "")
    raw = unicodedata.normalize("NFKC", raw).replace("\\", "/")
    base = PurePosixPath(raw).name if raw else ""
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    stem = base.rsplit(".", 1)[0] if "." in base.lstrip(".") else base
    stem = _UNSAFE.sub("_", stem).strip(" ._")[:100] or "file"
    return stem + EXTENSIONS.get(content_type, "")
