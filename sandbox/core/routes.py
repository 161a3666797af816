"""A spec's path template as a regular expression, in one place: the 405 `Allow` lookup of a mount and the
docs checker's operation index both match request paths against the spec's templates."""

from __future__ import annotations

import re

#: what a `{parameter}` of a template matches: one path segment
SEGMENT = "[^/]+"
_PARAM = re.compile(r"\\\{[^/]+?\\\}")  # a `{parameter}` after re.escape


def route_pattern(template: str, *, trailing_slash: bool = False) -> re.Pattern[str]:
    """`/leads/{lead_id}` -> `^/leads/[^/]+$` (with `/?` before `$` when a trailing slash is accepted)."""
    return re.compile("^" + _PARAM.sub(SEGMENT, re.escape(template)) + ("/?$" if trailing_slash else "$"))


def parameters_in(pattern: re.Pattern[str]) -> int:
    """Sort key that puts literal paths before templates that also match them (/leads/webhook before
    /leads/{id}): the number of parameters in a `route_pattern`."""
    return pattern.pattern.count(SEGMENT)
