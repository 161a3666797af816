"""Stage 1 of docs-check: find the examples a document shows.

Markdown (through its parser: code blocks only, each read by the language it declares), HTML (as text)
and plain text; curl commands and Markdown code blocks come from `sandbox.contracts.snippets`, Python
`requests` calls and JavaScript `fetch` calls are read here, and JSON request/response samples take
their operation from the text before them (a `METHOD /path`, a path, or the request example above)."""

from __future__ import annotations

import ast
import html.parser
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json5

from sandbox.contracts import snippets


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
class Unparsed:
    """A body the document shows but that is not JSON (reported as `invalid`, with its text)."""

    text: str


def text_of(path: Path) -> str:
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
    text = text_of(path)
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
    example.body = Unparsed(call.unparsed) if call.unparsed is not None else call.body
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
            example.body = Unparsed(call)
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
                    query = "&".join(f"{k}={v}" for k, v in params.items() if not isinstance(v, Unparsed))
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
            for key, value in zip(node.keys, node.values, strict=True):  # ast keeps them paired
                if isinstance(key, ast.Constant):
                    try:
                        out[key.value] = ast.literal_eval(value)
                    except ValueError:
                        out[key.value] = Unparsed(ast.unparse(value))
            return out
        return Unparsed(ast.unparse(node))


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
                    example.body = Unparsed(literal)
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
                    example.body = Unparsed(literal)
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
