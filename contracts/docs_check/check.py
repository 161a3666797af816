"""Stage 3 of docs-check: check each example against its vendor's spec and replay it against a sandbox.

Each example is reported as `ok`, `invalid` (against the spec), `unknown_operation` or
`sandbox_disagrees`, with file and line; a document with nothing to check is reported as `unparseable`,
never skipped silently."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from sandbox.contracts.docs_check.extract import Example, Unparsed, extract, text_of
from sandbox.contracts.docs_check.index import SpecIndex
from sandbox.contracts.vendors import VENDORS, Conventions


@dataclass
class Finding:
    file: str
    line: int
    kind: str
    result: str  # ok | invalid | unknown_operation | sandbox_disagrees | unparseable
    operation: str | None
    message: str


def _first_error(validator: Any, instance: Any) -> str | None:
    for error in validator.iter_errors(instance):
        where = "/".join(str(p) for p in error.instance_path) or "(root)"
        return f"{where}: {error.message[:200]}"
    return None


class Checker:
    def __init__(self, api: str, sandbox: str | None, key: str | None) -> None:
        self.conv = VENDORS[api]
        self.index = SpecIndex(self.conv)
        self.sandbox = sandbox.rstrip("/") if sandbox else None
        self.key = key or self.conv.default_keys()[0]

    def check(self, example: Example) -> Finding:
        def finding(result: str, message: str, operation: str | None = None) -> Finding:
            return Finding(example.file, example.line, example.kind, result, operation, message)

        if isinstance(example.body, Unparsed):
            return finding("invalid", f"the body is not JSON: {example.body.text[:80]!r}")
        found = self.index.operation(example.method, example.url, wants_body=example.role == "request")
        if example.kind == "json":
            heading = self.index.by_heading(example.context)
            # a heading after the last path mention names the sample's operation (or webhook)
            if heading is not None and (found is None or heading[0] > example.path_at):
                return self._check_sample(example, heading[1:], finding)
        if found is None:
            where = f"{example.method or '?'} {example.url or '(no URL or operation in the text around it)'}"
            return finding("unknown_operation", f"{where} is no operation of {self.conv.spec_file}")
        template, operation, relative = found
        method = example.method or next(m.upper() for m, op in self.index.spec["paths"][template].items() if op is operation)
        label = f"{method} {template} ({operation.get('operationId')})"
        if example.kind == "json":
            return self._match_sample(example, operation, label, finding)
        schema = self.index.request_schema(operation)
        if example.has_body:
            if schema is None:
                return finding("invalid", "a body is sent but the operation takes none", label)
            problem = _first_error(self.index.validator(schema), example.body)
            if problem:
                return finding("invalid", f"request body does not match the schema: {problem}", label)
        if self.sandbox is None:
            return finding("ok", "matches the spec (not replayed)", label)
        return self._replay(example, operation, relative, label, finding)

    def _check_sample(self, example: Example, heading: tuple[str | None, str | None, dict[str, Any]], finding: Any) -> Finding:
        """A JSON sample under a heading that names an operation (or a webhook)."""
        method, template, operation = heading
        label = f"{method or 'POST'} {template} ({operation.get('operationId') or 'webhook payload'})"
        return self._match_sample(example, operation, label, finding)

    def _match_sample(self, example: Example, operation: dict[str, Any], label: str, finding: Any) -> Finding:
        """Accept the sample when it matches any body the operation documents, likeliest first."""
        candidates = self.index.sample_schemas(operation, example.role, example.status)
        if not candidates:
            return finding("invalid", "the operation documents no JSON body", label)
        first_problem = None
        for name, schema in candidates:
            problem = _first_error(self.index.validator(schema), example.body)
            if problem is None:
                return finding("ok", f"sample matches the {name}", label)
            first_problem = first_problem or f"does not match the {name}: {problem}"
        return finding("invalid", f"sample {first_problem}", label)

    def _replay(self, example: Example, operation: dict[str, Any], relative: str, label: str, finding: Any) -> Finding:
        query = urlsplit(example.url or "").query
        headers = {k: v for k, v in example.headers.items() if k.lower() not in ("authorization", "x-api-key", "host")}
        headers = {k: (str(uuid.uuid4()) if "$(" in v else v) for k, v in headers.items()}
        headers[self.conv.auth_header] = self.conv.auth(self.key)
        assert self.sandbox is not None
        url = self.sandbox + relative + (f"?{query}" if query else "")
        try:
            response = httpx.request(
                example.method or "GET", url, headers=headers, timeout=30,
                params=None, json=example.body if example.has_body else None,
            )
        except httpx.HTTPError as exc:
            return finding("sandbox_disagrees", f"no answer from the sandbox: {exc}", label)
        documented = operation.get("responses", {})
        if str(response.status_code) not in documented:
            return finding("sandbox_disagrees", f"answered {_answer(self.conv, response)}, "
                                                "a status the spec does not document", label)
        if response.status_code >= 400:
            return finding("sandbox_disagrees", f"answered {_answer(self.conv, response)}", label)
        status, schema = self.index.response_schema(operation, response.status_code)
        if schema is not None:
            problem = _first_error(self.index.validator(schema), response.json())
            if problem:
                return finding("sandbox_disagrees", f"the {status} response does not match the spec: {problem}", label)
        return finding("ok", f"replayed: {response.status_code}", label)


def _answer(conv: Conventions, response: httpx.Response) -> str:
    """`404 not_found: <message>` without volatile parts such as trace ids."""
    try:
        body = response.json()
    except ValueError:
        return str(response.status_code)
    code, _ = conv.error(body)
    message = ""
    if isinstance(body, dict):
        error = body.get("error")
        message = (error or {}).get("message", "") if isinstance(error, dict) else body.get("message", "")
    return f"{response.status_code} {code}: {message}".strip()


def check_paths(
    api: str, paths: list[Path], sandbox: str | dict[str, str] | None, key: str | None = None
) -> list[Finding]:
    """Check every example of `paths`. `api` may be `all`: each example goes to the API whose operation it
    names (then `sandbox` maps API names to base URLs)."""
    names = sorted(VENDORS) if api == "all" else [api]
    bases = sandbox if isinstance(sandbox, dict) else {name: sandbox for name in names}
    checkers = [Checker(name, bases.get(name), key if api != "all" else None) for name in names]
    findings: list[Finding] = []
    for path in paths:
        examples = extract(path)
        if not examples:
            # A page that shows code but yields nothing is reported; prose without examples is fine.
            looks_like_code = re.search(r"curl\s+(-|https?://)|requests\.\w+\(|\bfetch\(|```json", text_of(path))
            findings.append(Finding(
                str(path), 1, "document", "unparseable" if looks_like_code else "ok", None,
                "examples are shown but none could be read" if looks_like_code else "no examples in this document",
            ))
            continue
        for example in examples:
            results = [checker.check(example) for checker in checkers]
            findings.append(next((r for r in results if r.result != "unknown_operation"), results[0]))
    return findings


def render_text(findings: list[Finding]) -> str:
    lines = [f"{f.file}:{f.line}: {f.result.upper():<18} {f.kind:<10} {f.operation or '-'}: {f.message}" for f in findings]
    problems = sum(f.result != "ok" for f in findings)
    lines.append(f"{len(findings)} example(s), {problems} problem(s)")
    return "\n".join(lines)


def render_json(findings: list[Finding]) -> str:
    return json.dumps([asdict(f) for f in findings], indent=2, ensure_ascii=False)

