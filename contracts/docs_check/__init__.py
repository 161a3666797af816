"""`lead-sandbox docs-check`: keep API docs honest.

Reads Markdown, HTML or plain-text docs, extracts curl commands, Python `requests` calls, JavaScript
`fetch` calls and JSON request/response samples, maps each to an operation of the chosen spec by method
and path (the vendor's documented base URLs accepted), validates bodies against the spec's schemas and
replays requests against a sandbox (host and key swapped). Each example is reported as `ok`, `invalid`
(against the spec), `unknown_operation` or `sandbox_disagrees`, with file and line; a document with
nothing to check is reported as `unparseable`, never skipped silently.

Four stages, one module each: `extract` (the examples a document shows), `index` (a spec's operations by
method and path, summary and heading), `check` (each example against the spec and a sandbox) and `drift`
(the vendor-docs drift report behind `make drift`, also `python -m sandbox.contracts.docs_check`). The
name `extract` here is the stage's module; its function is `docs_check.extract.extract`."""

from sandbox.contracts.docs_check.check import Checker, Finding, check_paths, render_json, render_text
from sandbox.contracts.docs_check.drift import (
    DRIFT_END,
    DRIFT_START,
    VENDOR_PAGES,
    render_markdown,
    update_drift,
    vendor_findings,
)
from sandbox.contracts.docs_check.extract import Example
from sandbox.contracts.docs_check.index import SpecIndex

__all__ = [
    "DRIFT_END", "DRIFT_START", "VENDOR_PAGES", "Checker", "Example", "Finding", "SpecIndex", "check_paths",
    "render_json", "render_markdown", "render_text", "update_drift", "vendor_findings",
]
