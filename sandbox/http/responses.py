"""Handlers return these: orjson-encoded JSON responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from sandbox.core import jsonio


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(jsonio.dumps(body), status_code=status, headers=headers, media_type="application/json")


def empty_response(status: int = 204, headers: Mapping[str, str] | None = None) -> Response:
    return Response(None, status_code=status, headers=headers)
