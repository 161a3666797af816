"""Every error, from our models, Connexion or Starlette, becomes a `SandboxError` and is rendered
here, in the envelope of the API the request was for."""

from __future__ import annotations

import ast
import logging
import re
from collections.abc import MutableMapping
from typing import Any

from connexion.exceptions import (
    BadRequestProblem,
    NonConformingResponse,
    OAuthProblem,
    OAuthResponseProblem,
    OAuthScopeProblem,
    ProblemException,
    UnsupportedMediaTypeProblem,
)
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from sandbox.core import errors as E
from sandbox.core import jsonio
from sandbox.http.context import state_of

log = logging.getLogger(__name__)

_BY_STATUS: dict[int, type[E.SandboxError]] = {
    400: E.ValidationFailed,
    401: E.Unauthorized,
    403: E.Forbidden,
    404: E.NotFound,
    405: E.MethodNotAllowed,
    409: E.Conflict,
    413: E.PayloadTooLarge,
    415: E.UnsupportedMediaType,
    422: E.Unprocessable,
    429: E.RateLimited,
    503: E.ServiceUnavailable,
}


def as_sandbox_error(exc: BaseException) -> E.SandboxError:
    if isinstance(exc, E.SandboxError):
        return exc
    if isinstance(exc, (OAuthProblem, OAuthResponseProblem)):
        return E.Unauthorized(_detail(exc))
    if isinstance(exc, OAuthScopeProblem):
        return E.Forbidden(_detail(exc))
    if isinstance(exc, UnsupportedMediaTypeProblem):
        return E.UnsupportedMediaType(_plain_media_types(_detail(exc)) or None)
    if isinstance(exc, NonConformingResponse):
        return E.InternalError(f"The sandbox produced a response outside its spec: {_detail(exc)}")
    if isinstance(exc, BadRequestProblem):
        return E.ValidationFailed(_detail(exc) or None)
    status = getattr(exc, "status_code", None) or getattr(exc, "status", None)
    if isinstance(exc, (HTTPException, ProblemException)) and isinstance(status, int):
        cls = _BY_STATUS.get(status)
        if cls is E.NotFound:
            return E.NotFound("No such route: check the path and the API's base URL")
        if cls is E.MethodNotAllowed:
            return E.MethodNotAllowed()
        if cls is not None:
            return cls(_detail(exc) or None)
        if status >= 500:
            return E.InternalError()
        return E.ValidationFailed(_detail(exc) or None)
    log.exception("unhandled error", exc_info=exc)
    return E.InternalError("Internal error: the sandbox failed; the trace id identifies this request")


#: Connexion's 415 detail ends with the operation's media types as a Python list:
#: "Invalid Content-type (text/plain), expected ['application/json']"
_EXPECTED_LIST = re.compile(r"expected (\[[^\]]*\])$")


def _plain_media_types(detail: str) -> str:
    """"… expected ['application/json']" -> "… expected application/json": media types as a client reads
    them, not a Python list. Any other wording is kept as it is."""
    found = _EXPECTED_LIST.search(detail)
    if found is None:
        return detail
    try:
        types = ast.literal_eval(found.group(1))
    except (ValueError, SyntaxError):
        return detail
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        return detail
    return detail[: found.start()] + "expected " + " or ".join(types)


def _detail(exc: BaseException) -> str:
    detail = getattr(exc, "detail", None)
    return str(detail) if detail else ""


def neutral_body(error: E.SandboxError, trace_id: str) -> dict[str, Any]:
    """Outside any API (e.g. `/nope`): a plain, self-explanatory shape."""
    return {"error": {"code": error.code or error.kind, "message": error.message, "trace_id": trace_id}}


def render(scope: MutableMapping[str, Any], exc: BaseException) -> tuple[int, bytes, dict[str, str]]:
    error = as_sandbox_error(exc)
    state = state_of(scope)
    trace_id, mount = "", None
    if state is not None:
        state.error = error  # the request journal lists its violations
        trace_id, mount = state.trace_id, state.mount
    body = mount.api.render_error(error, trace_id) if mount else neutral_body(error, trace_id)
    headers = dict(error.headers)
    if error.status == 405 and mount is not None:
        headers["Allow"] = mount.allow(scope.get("path", "")) or "GET"
    if error.status == 401 and mount is not None and (mount.api.auth is None or mount.api.auth.scheme):
        headers.setdefault("WWW-Authenticate", f'Bearer realm="{mount.api.name}"')
    return error.status, jsonio.dumps(body), headers


async def connexion_handler(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    status, body, headers = render(request.scope, exc)
    return ConnexionResponse(status_code=status, body=body, content_type="application/json", headers=headers)
