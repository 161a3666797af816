"""What a request body says it is, made unambiguous before anything reads it."""

from __future__ import annotations

from starlette.types import Scope

from sandbox.core.errors import UnsupportedMediaType


def normalise_content_type(scope: Scope) -> None:
    """A body must say what it is, and media types are case-insensitive (RFC 9110 §8.3.1).

    Connexion 3.3 guesses the operation's first media type when `Content-Type` is absent, validates the
    body as JSON, and then hands the handler raw bytes because its parameter decorator reads the real
    (absent) header; `APPLICATION/JSON` misses the validator map (case-sensitive), so validation is
    skipped and raw bytes reach the handler too. Both answered 500. Here, before anything reads it: a
    non-empty body without a usable `Content-Type` is a 415 (the status every spec already documents
    for an unsupported media type), and the header is rewritten with its type, subtype and charset in
    lower case, so the validator and the handler see one and the same media type."""
    headers = scope["headers"]
    index, value = -1, None
    length = 0
    for i, (name, raw) in enumerate(headers):
        if name == b"content-type":
            index, value = i, raw.decode("latin-1")
        elif name == b"content-length":
            length = int(raw) if raw.isdigit() else 0
    if value is None or not value.strip():
        if length > 0:
            raise UnsupportedMediaType("The request has a body but no Content-Type: send it as application/json")
        return
    mime, _, params = value.partition(";")
    mime = mime.strip().lower()
    if "/" not in mime:
        raise UnsupportedMediaType(f"Content-Type {value[:100]!r} is not a media type: send application/json")
    parts = [mime]
    for param in params.split(";"):
        name, _, param_value = param.strip().partition("=")
        if not name:
            continue
        if name.lower() == "charset":  # JSON is UTF-8 (RFC 8259): the body is read as UTF-8 whatever it says
            parts.append(f"charset={param_value.strip().strip(chr(34)).lower()}")
        else:
            parts.append(f"{name.strip()}={param_value.strip()}")  # e.g. a multipart boundary: kept as sent
    headers = list(headers)
    headers[index] = (b"content-type", "; ".join(parts).encode("latin-1"))
    scope["headers"] = headers
