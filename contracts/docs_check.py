"""`lead-sandbox docs-check`: keep API docs honest.

Reads Markdown, HTML or plain-text docs, extracts curl commands, Python `requests` calls, JavaScript
`fetch` calls and JSON request/response samples, maps each to an operation of the chosen spec by method
and path (the vendor's documented base URLs accepted), validates bodies against the spec's schemas and
replays requests against a sandbox (host and key swapped). Each example is reported as `ok`, `invalid`
(against the spec), `unknown_operation` or `sandbox_disagrees`, with file and line; a document with
nothing to check is reported as `unparseable`, never skipped silently."""

from __future__ import annotations

import ast
import html.parser
import json
import re
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import json5
import jsonschema_rs
from sandbox.contracts import snippets
from sandbox.contracts.vendors import VENDORS, Conventions

from sandbox.spec import load_spec

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


# --- examples found in a document ---------------------------------------------------------------
@dataclass
class Example:
    kind: str  # curl | python | javascript | json
    file: str
    line: int
    method: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    has_body: bool = False
    #: for JSON samples: "request" or "response", and the status the text gives, if any
    role: str | None = None
    status: int | None = None
    #: the text before a JSON sample (headings name the operation on some vendor pages), and where in
    #: it the operation's path was mentioned (-1: nowhere)
    context: str = ""
    path_at: int = -1


@dataclass
class Finding:
    file: str
    line: int
    kind: str
    result: str  # ok | invalid | unknown_operation | sandbox_disagrees | unparseable
    operation: str | None
    message: str


def _text_of(path: Path) -> str:
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in (".html", ".htm"):
        return _html_text(raw)
    return raw


class _HtmlText(html.parser.HTMLParser):
    BLOCKS = frozenset({"p", "div", "pre", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "code"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _html_text(raw: str) -> str:
    parser = _HtmlText()
    parser.feed(raw)
    return "".join(parser.parts)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


_OP_CONTEXT = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE)\s+(https?://\S+|/[\w/{}.\-]+)")
#: a status as docs write it: "(201 Created)", "(400)", "HTTP 429", "status 404"
_STATUS = re.compile(r"(?:\(|HTTP |[Ss]tatus )([1-5][0-9]{2})\b")


def _context(text: str, offset: int, lines: int = 8) -> str:
    start = offset
    for _ in range(lines):
        start = text.rfind("\n", 0, start - 1) if start > 0 else -1
        if start < 0:
            start = 0
            break
    return text[start:offset]


def extract(path: Path) -> list[Example]:
    text = _text_of(path)
    name = str(path)
    if path.suffix.lower() in (".md", ".markdown"):
        return _markdown(text, name, path.parent)
    found: list[Example] = [_example(call, name) for call in snippets.curl_calls(text, path.parent)]
    found += _python(text, name)
    found += _javascript(text, name)
    found += _json_samples(text, name, sorted(found, key=lambda e: e.line))
    return sorted(found, key=lambda e: e.line)


# curl, and Markdown code blocks: sandbox.contracts.snippets ------------------------------------------
def _example(call: snippets.Call, name: str, first_line: int = 1) -> Example:
    """A request found by `snippets`, at its line in the document (`first_line`: where its block starts)."""
    example = Example(call.kind, name, first_line + call.line - 1, method=call.method, url=call.url,
                      headers=dict(call.headers), has_body=call.has_body)
    example.body = _Unparsed(call.unparsed) if call.unparsed is not None else call.body
    return example


def _markdown(text: str, name: str, base_dir: Path) -> list[Example]:
    """Markdown through its parser: only code blocks, each read by the language it declares; JSON
    blocks are samples (request or response, by the text before them)."""
    found: list[Example] = []
    json_lines: set[int] = set()
    for block in snippets.markdown_blocks(text):
        if block.language in ("json", "jsonc", "json5") or (block.language == "" and block.text.lstrip().startswith("{")):
            json_lines.add(block.line + len(block.text) - len(block.text.lstrip("\n")) - 0)
            continue
        found += [_example(call, name, block.line) for call in snippets.calls_in(block, base_dir)]
    found = sorted(found, key=lambda e: e.line)
    return sorted(found + _json_samples(text, name, found, only_lines=json_lines), key=lambda e: e.line)


@dataclass
class _Unparsed:
    text: str


# Python requests -----------------------------------------------------------------------------------
def _assignments(text: str, pattern: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in re.finditer(pattern, text)}


def _python(text: str, name: str) -> list[Example]:
    constants = _assignments(text, r"(?m)^\s*([A-Z_]+)\s*=\s*[\"']([^\"']+)[\"']")
    out = []
    for match in re.finditer(r"requests\.(get|post|put|patch|delete)\(", text):
        call = snippets.balanced(text, match.end() - 1)
        if call is None:
            continue
        example = Example("python", name, _line_of(text, match.start()), method=match.group(1).upper())
        try:
            node = ast.parse(f"f{call}", mode="eval").body
        except SyntaxError:
            example.body = _Unparsed(call)
            out.append(example)
            continue
        assert isinstance(node, ast.Call)
        if node.args:
            example.url = _python_string(node.args[0], constants)
        for keyword in node.keywords:
            if keyword.arg == "json":
                example.has_body = True
                example.body = _literal(keyword.value)
            elif keyword.arg == "params":
                params = _literal(keyword.value)
                if isinstance(params, dict) and example.url:
                    query = "&".join(f"{k}={v}" for k, v in params.items() if not isinstance(v, _Unparsed))
                    example.url += ("&" if "?" in example.url else "?") + query
        out.append(example)
    return out


def _python_string(node: ast.AST, constants: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
                parts.append(constants.get(value.value.id, "{" + value.value.id + "}"))
        return "".join(parts)
    return None


def _literal(node: ast.AST) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        if isinstance(node, ast.Dict):  # {**HEADERS, ...} or names inside: keep what is literal
            out = {}
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant):
                    try:
                        out[key.value] = ast.literal_eval(value)
                    except ValueError:
                        out[key.value] = _Unparsed(ast.unparse(value))
            return out
        return _Unparsed(ast.unparse(node))


# JavaScript fetch ------------------------------------------------------------------------------------
def _javascript(text: str, name: str) -> list[Example]:
    constants = _assignments(text, r"const\s+([A-Z_]+)\s*=\s*[\"'`]([^\"'`]+)[\"'`]")
    out = []
    for match in re.finditer(r"\bfetch\(", text):
        call = snippets.balanced(text, match.end() - 1)
        if call is None:
            continue
        example = Example("javascript", name, _line_of(text, match.start()))
        first = re.match(r"\(\s*([\"'`])(.*?)\1", call, re.DOTALL)
        if first:
            url = re.sub(r"\$\{([A-Z_]+)\}", lambda m: constants.get(m.group(1), m.group(0)), first.group(2))
            example.url = re.sub(r"\?\$\{[^}]+\}", "", url)
        method = re.search(r"method:\s*[\"'](\w+)[\"']", call)
        example.method = method.group(1).upper() if method else "GET"
        body = re.search(r"body:\s*JSON\.stringify\(", call)
        if body:
            literal = snippets.balanced(call, body.end())
            if literal:
                example.has_body = True
                try:
                    example.body = json5.loads(literal)
                except ValueError:
                    example.body = _Unparsed(literal)
        if example.url and "${" not in example.url and example.url.startswith("http"):
            out.append(example)
        elif example.url and example.url.startswith("${"):
            # a wrapper such as `fetch(`${BASE_URL}${path}`)`: its calls carry the paths
            out.extend(_wrapper_calls(text, name, constants))
    return out


def _wrapper_calls(text: str, name: str, constants: dict[str, str]) -> list[Example]:
    base = next(iter(constants.values()), None)
    out = []
    for match in re.finditer(r"await\s+(\w+)\(\s*[\"']([^\"']+)[\"']\s*(,\s*\{)?", text):
        if match.group(1) == "fetch" or base is None:
            continue
        call = snippets.balanced(text, text.index("(", match.start()))
        example = Example("javascript", name, _line_of(text, match.start()), method="GET", url=base + match.group(2))
        if call:
            method = re.search(r"method:\s*[\"'](\w+)[\"']", call)
            example.method = method.group(1).upper() if method else "GET"
            body = re.search(r"body:\s*JSON\.stringify\(", call)
            if body and (literal := snippets.balanced(call, body.end())):
                example.has_body = True
                try:
                    example.body = json5.loads(literal)
                except ValueError:
                    example.body = _Unparsed(literal)
        out.append(example)
    return out


# JSON samples --------------------------------------------------------------------------------------
_BARE_PATH = re.compile(r"(/api(?:/v1)?/[a-z][a-z0-9_/{}-]*|/v1/[a-z][a-z0-9_/{}-]*)")
_ROLE_WORDS = re.compile(r"(?i)\b(request(?: body)?|response|returns|payload|error|failure|success)\b")


def _json_samples(text: str, name: str, calls: list[Example], only_lines: set[int] | None = None) -> list[Example]:
    """JSON objects in the text (or only those starting on `only_lines`: a Markdown document's JSON
    blocks); the operation comes from the nearest `METHOD /path` or path heading before them, else from
    the nearest request example before them (a curl and its response)."""
    taken = {e.line for e in calls}
    out = []
    covered = -1  # end offset of the last sample: an object nested inside it is not another sample
    for match in re.finditer(r"(?m)^[ \t]*(?:```(?:json|jsonc)?[ \t]*\n)?(\{)", text):
        start = match.start(1)
        if start < covered:
            continue
        line = _line_of(text, start)
        if only_lines is not None and line not in only_lines:
            continue
        if any(abs(line - other) <= 1 for other in taken):
            continue
        block = snippets.balanced(text, start)
        value = _json_value(text[start:])
        if not isinstance(value, dict):
            continue
        covered = start + len(block) if block else start
        context = _context(text, match.start(), lines=14)
        example = Example("json", name, line, body=value, has_body=True, context=context)
        explicit = list(_OP_CONTEXT.finditer(context))
        bare = list(_BARE_PATH.finditer(context))
        previous = [e for e in calls if e.url and 0 < line - e.line <= 40]
        if explicit:
            example.method, example.url = explicit[-1].group(1), explicit[-1].group(2)
            example.path_at = explicit[-1].start()
        elif bare:
            example.url = bare[-1].group(1)
            example.path_at = bare[-1].start()
        elif previous:
            example.method, example.url = previous[-1].method, previous[-1].url
        words = [w.lower() for w in _ROLE_WORDS.findall(context)]
        example.role = "request" if words and words[-1].startswith("request") else (
            "response" if words else ("response" if previous else "request"))
        statuses = [int(s) for s in _STATUS.findall(context[-200:]) if 100 <= int(s) < 600]
        example.status = statuses[-1] if statuses else None
        out.append(example)
    return out


def _json_value(text: str) -> Any:
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
        return value
    except ValueError:
        block = snippets.balanced(text, 0)
        if block is None:
            return None
        try:
            return json5.loads(block)
        except ValueError:
            return None


# --- checking against a spec ------------------------------------------------------------------------
class SpecIndex:
    def __init__(self, conv: Conventions) -> None:
        self.conv = conv
        self.spec = load_spec(conv.spec_file)
        self.bases = self._bases()
        self.routes: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for template, item in self.spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "/?$")
            self.routes.append((pattern, template, item))
        # literal paths before templates (/leads/webhook before /leads/{id})
        self.routes.sort(key=lambda route: route[0].pattern.count("[^/]+"))
        #: operation summaries (and webhook summaries): pages that name operations by heading only
        self.summaries: list[tuple[str, str | None, str | None, dict[str, Any]]] = []
        for template, item in self.spec["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and op.get("summary"):
                    self.summaries.append((_words(op["summary"]), method.upper(), template, op))
        for name, item in self.spec.get("webhooks", {}).items():
            for op in item.values():
                if isinstance(op, dict) and op.get("summary"):
                    self.summaries.append((_words(op["summary"]), None, f"webhook {name}", op))

    def by_heading(self, context: str) -> tuple[int, str | None, str | None, dict[str, Any]] | None:
        """(position in `context`, method, path, operation) of the last operation summary it mentions."""
        best = None
        lowered = context.lower()
        for words, method, template, op in self.summaries:
            match = None
            if words:
                pattern = r"\W+".join(re.escape(word) for word in words.split())
                for match in re.finditer(pattern, lowered):
                    pass
            if match is not None and (best is None or match.start() > best[0]):
                best = (match.start(), method, template, op)
        return best

    def _bases(self) -> list[str]:
        bases = set()
        for server in self.spec.get("servers", []):
            path = urlsplit(server["url"]).path.rstrip("/")
            bases.add(path)
        # what the vendor's pages write: /api/v1/* beside /v1, /api/* for HREF, our own mounts
        bases |= {"/api/v1", "/v1", "/api", self.conv.solo_base.rstrip("/")}
        from sandbox.apis import registry

        api = registry().get(self.conv.api)
        if api is not None:
            bases |= {m.rstrip("/") for m in (*api.mounts, *api.solo_mounts)}
        return sorted(bases, key=len, reverse=True)

    @property
    def foreign_mounts(self) -> list[str]:
        from sandbox.apis import registry

        own = set(self.bases)
        return [m for name, api in registry().items() if name != self.conv.api for m in api.mounts if m not in own]

    def operation(
        self, method: str | None, url: str | None, wants_body: bool = False
    ) -> tuple[str, dict[str, Any], str] | None:
        """(template, operation, relative path) for a method and a URL or path. Without a method (a path
        heading), the path's only operation, or the one that takes a body for a request sample."""
        if not url:
            return None
        path = urlsplit(url).path if url.startswith("http") else url.split("?")[0]
        path = re.sub(r"/href/[a-z0-9-]+/api", "/href/api", path)
        if any(path.startswith(mount + "/") for mount in self.foreign_mounts):
            return None
        candidates = [path[len(base):] for base in self.bases if base and path.startswith(base + "/")]
        candidates.append(path)
        for relative in candidates:
            for pattern, template, item in self.routes:
                if not pattern.match(relative):
                    continue
                if method and method.lower() in item:
                    return template, item[method.lower()], relative
                if not method:
                    operations = {m: op for m, op in item.items() if m in ("get", "post", "put", "patch", "delete")}
                    if wants_body:
                        operations = {m: op for m, op in operations.items() if "requestBody" in op}
                    if len(operations) == 1 or (operations and not wants_body):
                        # several operations: the caller tries their bodies; the first is a start
                        return template, next(iter(operations.values())), relative
        return None

    def validator(self, schema: dict[str, Any]) -> Any:
        return jsonschema_rs.validator_for({**schema, "components": self.spec.get("components", {})},
                                           validate_formats=True)

    def sample_schemas(self, operation: dict[str, Any], role: str | None, status: int | None) -> list[tuple[str, Any]]:
        """Every JSON body the operation documents, the likeliest first: (name, schema)."""
        bodies: list[tuple[str, Any]] = []
        request = self.request_schema(operation)
        if request is not None:
            bodies.append(("request body", request))
        for key, response in operation.get("responses", {}).items():
            if "$ref" in response:
                response = self.spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
            media = response.get("content", {}).get("application/json")
            if media and media.get("schema") is not None:
                bodies.append((f"{key} response", media["schema"]))
        def rank(entry: tuple[str, Any]) -> int:
            name = entry[0]
            if status is not None and name.startswith(str(status)):
                return 0
            if role == "request" and name == "request body":
                return 1
            if role == "response" and name.startswith("2"):
                return 1
            return 2
        return sorted(bodies, key=rank)

    def request_schema(self, operation: dict[str, Any]) -> dict[str, Any] | None:
        content = operation.get("requestBody", {}).get("content", {})
        media = content.get("application/json")
        return media.get("schema") if media else None

    def response_schema(self, operation: dict[str, Any], status: int | None) -> tuple[int | None, dict[str, Any] | None]:
        responses = operation.get("responses", {})
        keys = [str(status)] if status else [k for k in responses if k.startswith("2")]
        for key in keys:
            response = responses.get(key)
            if response is None:
                continue
            if "$ref" in response:
                response = self.spec["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
            media = response.get("content", {}).get("application/json")
            return int(key), (media or {}).get("schema")
        return None, None


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _first_error(validator: Any, instance: Any) -> str | None:
    for error in validator.iter_errors(instance):
        where = "/".join(str(p) for p in error.instance_path) or "(root)"
        return f"{where}: {error.message[:200]}"
    return None


class Checker:
    def __init__(self, api: str, sandbox: str | None, key: str | None, other_keys: dict[str, str] | None = None) -> None:
        self.conv = VENDORS[api]
        self.index = SpecIndex(self.conv)
        self.sandbox = sandbox.rstrip("/") if sandbox else None
        self.key = key or self.conv.default_keys()[0]

    def check(self, example: Example) -> Finding:
        def finding(result: str, message: str, operation: str | None = None) -> Finding:
            return Finding(example.file, example.line, example.kind, result, operation, message)

        if isinstance(example.body, _Unparsed):
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
        _ = parse_qsl(query)
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
            looks_like_code = re.search(r"curl\s+(-|https?://)|requests\.\w+\(|\bfetch\(|```json", _text_of(path))
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


#: which vendor page documents which API (shared/seeds/README.md)
VENDOR_PAGES = {
    "hadar": "hadar-api-reference.txt",
    "hadar-crm": "hadar-crm-api.txt",
    "leaditio": "leaditio-buyer-api.txt",
    "askad": "askad-webhook-api.txt",
    "href": "href-lead-intake-api.txt",
}


def render_markdown(findings_by_api: dict[str, list[Finding]]) -> str:
    """The generated part of docs/vendor-docs-drift.md: every example that is not ok, per API."""
    lines = ["| API | where | example | result | operation | what |", "|---|---|---|---|---|---|"]
    counts = []
    for api, findings in findings_by_api.items():
        problems = [f for f in findings if f.result != "ok"]
        counts.append(f"{api}: {len(findings)} examples, {len(problems)} not ok")
        for f in problems:
            message = f.message.replace("|", "\\|")
            lines.append(f"| {api} | `{Path(f.file).name}:{f.line}` | {f.kind} | {f.result} | {f.operation or '-'} | {message} |")
    return "\n".join([*lines, "", "Totals: " + "; ".join(counts) + "."])


DRIFT_START = "<!-- generated by `make drift`: do not edit by hand -->"
DRIFT_END = "<!-- end generated -->"


def vendor_findings(seeds: Path) -> dict[str, list[Finding]]:
    from sandbox.contracts.cli import check_against_fresh_sandbox

    return {api: check_against_fresh_sandbox(api, [seeds / page]) for api, page in VENDOR_PAGES.items()}


def update_drift(document: Path, seeds: Path) -> str:
    """Rewrite the generated table of the drift document; returns the table."""
    table = render_markdown(vendor_findings(seeds))
    text = document.read_text(encoding="utf-8")
    head, _, rest = text.partition(DRIFT_START)
    _, _, tail = rest.partition(DRIFT_END)
    document.write_text(f"{head}{DRIFT_START}\n{table}\n{DRIFT_END}{tail}", encoding="utf-8")
    return table


if __name__ == "__main__":  # `make drift`
    import sys

    root = Path(__file__).resolve().parent.parent
    seeds_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else root.parent / "shared" / "seeds"
    print(update_drift(root / "docs" / "vendor-docs-drift.md", seeds_dir))
