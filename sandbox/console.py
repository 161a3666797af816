"""One line per request on the console (`serve` by default, `lead-sandbox logs`): time, method, path,
status, duration, api/tenant, trace id and, for an error, why. Colour only on a terminal; `json`
prints each journal entry's summary as one JSON line instead."""

from __future__ import annotations

import sys
from typing import IO, Any

import orjson

_RESET = "\033[0m"
_DIM = "\033[2m"
_BOLD = "\033[1m"
_BY_CLASS = {2: "\033[32m", 3: "\033[36m", 4: "\033[33m", 5: "\033[31m"}  # green, cyan, yellow, red

#: What a JSON line carries: the entry without headers and bodies (they stay in the journal).
SUMMARY_FIELDS = ("at", "method", "path", "query", "status", "duration_ms", "api", "tenant", "trace_id", "key_last4")


def reason(entry: dict[str, Any]) -> str:
    """`name: is required; phone: not a phone number` from an entry's violations."""
    parts = []
    for violation in entry.get("violations") or ():
        field = violation.get("field")
        message = str(violation.get("message", "")).replace("\n", " ")
        parts.append(f"{field}: {message}" if field and not message.startswith(field) else message)
    return "; ".join(parts)


def text_line(entry: dict[str, Any], *, color: bool = False) -> str:
    at = str(entry.get("at", ""))
    clock = at[11:23] if len(at) >= 23 else at  # HH:MM:SS.mmm of an RFC 3339 UTC time
    path = entry.get("path", "") + (f"?{entry['query']}" if entry.get("query") else "")
    status = int(entry.get("status", 0))
    where = "/".join(part for part in (entry.get("api"), entry.get("tenant")) if part) or "-"
    duration = f"{float(entry.get('duration_ms', 0)):.1f}ms"
    why = reason(entry) if status >= 400 else ""
    if color:
        tint = _BY_CLASS.get(status // 100, "")
        line = (
            f"{_DIM}{clock}{_RESET} {_BOLD}{entry.get('method', ''):<6}{_RESET} {path} "
            f"{tint}{status}{_RESET} {duration} {where} {_DIM}{entry.get('trace_id', '')}{_RESET}"
        )
        return line + (f" {tint}{why}{_RESET}" if why else "")
    line = f"{clock} {entry.get('method', ''):<6} {path} {status} {duration} {where} {entry.get('trace_id', '')}"
    return line + (f" {why}" if why else "")


def json_line(entry: dict[str, Any]) -> str:
    summary = {name: entry.get(name) for name in SUMMARY_FIELDS}
    summary["violations"] = entry.get("violations") or []
    return orjson.dumps(summary).decode()


class ConsoleLog:
    """A journal listener printing each flushed batch (off the request path)."""

    def __init__(self, log_format: str = "text", stream: IO[str] | None = None, color: bool | None = None) -> None:
        if log_format not in ("text", "json"):
            raise ValueError(f"--log-format takes text or json, got {log_format!r}")
        self.log_format = log_format
        self.stream = stream or sys.stdout
        isatty = getattr(self.stream, "isatty", None)
        self.color = bool(isatty and isatty()) if color is None else color

    def format(self, entry: dict[str, Any]) -> str:
        return json_line(entry) if self.log_format == "json" else text_line(entry, color=self.color)

    def __call__(self, entries: list[dict[str, Any]]) -> None:
        if entries:
            self.stream.write("".join(self.format(entry) + "\n" for entry in entries))
            self.stream.flush()
