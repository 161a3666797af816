"""The requests inside code examples, as people write them: curl (`-d`, `--data-raw`, `--json`,
`-d @file`, `-G`, `--url`, `-XPOST`), Python `requests` and `httpx` (module calls, `Client`/`Session`
objects with a `base_url`), and JavaScript `fetch` and `axios` (calls, `axios({...})`, `axios.create`
instances). Markdown is read with a Markdown parser (markdown-it-py): each fenced or indented code block
is parsed by the language it declares (or looks like), with its line in the document."""

from __future__ import annotations

import ast
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json5

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
SHELL = {"sh", "bash", "shell", "console", "zsh", "curl", "shell-session", "terminal", ""}
PYTHON = {"python", "py", "python3", "pycon", "ipython"}
JAVASCRIPT = {"js", "javascript", "ts", "typescript", "node", "jsx", "tsx", "mjs"}


@dataclass
class Call:
    """One HTTP request found in a snippet; `line` counts from 1 within the snippet."""

    kind: str  # curl | python | javascript
    line: int
    method: str | None = None
    url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    has_body: bool = False
    body: Any = None
    #: the body's text when it is not JSON (or could not be read): reported as invalid, never guessed
    unparsed: str | None = None


@dataclass
class Block:
    """A code block of a Markdown document: its declared language, text and first line (1-based)."""

    language: str
    text: str
    line: int


def markdown_blocks(text: str) -> list[Block]:
    """Fenced and indented code blocks, via markdown-it-py's token stream (no file-wide regexes)."""
    from markdown_it import MarkdownIt

    blocks = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type in ("fence", "code_block") and token.map:
            language = (token.info or "").strip().split(maxsplit=1)[0].lower() if token.info else ""
            # a fence's content starts on the line after the opening ``` (an indented block on its first line)
            first = token.map[0] + (2 if token.type == "fence" else 1)
            blocks.append(Block(language, token.content, first))
    return blocks


def calls_in(block: Block, base_dir: Path | None = None) -> list[Call]:
    """The requests in one code block, parsed by its language (or, undeclared, by what it looks like)."""
    language = block.language
    if language not in SHELL | PYTHON | JAVASCRIPT:
        return []
    found: list[Call] = []
    if language in SHELL or "curl " in block.text:
        found += curl_calls(block.text, base_dir)
    if language in PYTHON or (language == "" and re.search(r"\b(requests|httpx)\.", block.text)):
        found += python_calls(block.text)
    if language in JAVASCRIPT or (language == "" and re.search(r"\b(fetch|axios)\b", block.text)):
        found += javascript_calls(block.text)
    return found


# --- curl ----------------------------------------------------------------------------------------
_CURL = re.compile(r"(?<![\w-])curl\s+(?=-|https?://|[\"'])")


def curl_calls(text: str, base_dir: Path | None = None) -> list[Call]:
    out = []
    for match in _CURL.finditer(text):
        tokens = _shell_words(text[match.start():])
        if tokens:
            out.append(curl_call(tokens, text.count("\n", 0, match.start()) + 1, base_dir))
    return out


def _shell_words(text: str) -> list[str] | None:
    """The words of one shell command (continued with `\\` lines), up to a pipe or the next command."""
    lines = text.split("\n")
    command = ""
    for index, line in enumerate(lines[:80]):
        command = f"{command}\n{line}" if index else line
        if line.rstrip().endswith("\\"):
            continue
        try:
            lexer = shlex.shlex(command.replace("\\\n", " "), posix=True, punctuation_chars="|;&")
            lexer.whitespace_split = True
            words = list(lexer)
        except ValueError:
            continue  # a quote is still open: the body goes on
        for stop, word in enumerate(words):
            if word and set(word) <= set("|;&"):
                return words[:stop]
        return words
    return None


_VALUE_FLAGS = {"-H", "--header", "-X", "--request", "-d", "--data", "--data-raw", "--data-binary", "--data-ascii",
                "--data-urlencode", "--json", "-u", "--user", "-o", "--output", "-A", "--user-agent", "-e",
                "--referer", "-b", "--cookie", "-F", "--form", "--url", "-w", "--write-out", "-m", "--max-time",
                "--connect-timeout", "-x", "--proxy", "--cacert", "-E", "--cert", "-T", "--upload-file"}


def curl_call(tokens: list[str], line: int, base_dir: Path | None = None) -> Call:
    call = Call("curl", line)
    data: list[str] = []
    json_flag = get = False
    index = 1
    while index < len(tokens):
        token = tokens[index]
        value = tokens[index + 1] if index + 1 < len(tokens) else None
        flag, glued = token, None
        if token.startswith("-X") and len(token) > 2 and not token.startswith("--"):
            flag, glued = "-X", token[2:]  # -XPOST
        elif token.startswith("--") and "=" in token:
            flag, glued = token.split("=", 1)
        argument = glued if glued is not None else value
        consumed = 0 if glued is not None else 1
        if flag in ("-X", "--request") and argument:
            call.method = argument.upper()
        elif flag in ("-H", "--header") and argument:
            name, _, header = argument.partition(":")
            call.headers[name.strip()] = header.strip()
        elif flag in ("-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--data-urlencode", "--json") \
                and argument is not None:
            json_flag = json_flag or flag == "--json"
            raw = flag == "--data-raw"  # no @file there
            data.append(argument if raw or not argument.startswith("@") else _data_file(argument[1:], base_dir))
        elif flag in ("-G", "--get"):
            get, consumed = True, 0
        elif flag in ("-I", "--head"):
            call.method, consumed = "HEAD", 0
        elif flag == "--url" and argument:
            call.url = argument
        elif flag in _VALUE_FLAGS:
            pass
        elif token.startswith("-"):
            consumed = 0  # a flag without a value (-s, -i, -L, --compressed, …)
        elif call.url is None and token.startswith(("http://", "https://")):
            call.url, consumed = token, 0
        else:
            consumed = 0
        index += 1 + consumed
    if json_flag:  # curl --json sets both headers itself
        call.headers.setdefault("Content-Type", "application/json")
        call.headers.setdefault("Accept", "application/json")
    if data and get:  # -G: the data goes into the query string
        if call.url:
            call.url += ("&" if "?" in call.url else "?") + "&".join(data)
        call.method = call.method or "GET"
    elif data:
        call.has_body = True
        text = "&".join(data) if len(data) > 1 and not json_flag else "".join(data)
        call.body, call.unparsed = _json_or_text(text)
    call.method = call.method or ("POST" if data and not get else "GET")
    return call


class _MissingFile(str):
    """`-d @file` whose file is not beside the document."""


def _data_file(name: str, base_dir: Path | None) -> str:
    if name == "-":
        return _MissingFile("@- (stdin)")
    path = (base_dir or Path.cwd()) / name
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return _MissingFile(f"@{name} (no such file beside the document)")


def _json_or_text(text: str) -> tuple[Any, str | None]:
    if isinstance(text, _MissingFile):
        return None, str(text)
    try:  # the JSON value at the start (docs often glue prose right after a body)
        value, _ = json.JSONDecoder().raw_decode(text.strip())
        return value, None
    except ValueError:
        try:
            return json5.loads(text), None
        except ValueError:
            return None, text


# --- Python: requests and httpx ------------------------------------------------------------------
def python_calls(text: str) -> list[Call]:
    try:
        tree = ast.parse(_dedent_prompt(text))
    except SyntaxError:
        return []
    strings: dict[str, str] = {}
    dicts: dict[str, Any] = {}
    clients: dict[str, str] = {}  # a name bound to httpx.Client(base_url=…) / requests.Session() -> its base
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            value = _py_string(node.value, strings)
            if value is not None:
                strings[target] = value
            elif isinstance(node.value, ast.Dict):
                dicts[target] = _py_literal(node.value, strings, dicts)
            elif _client_base(node.value, strings) is not None:
                clients[target] = _client_base(node.value, strings) or ""
        elif isinstance(node, ast.With):
            for item in node.items:
                if isinstance(item.optional_vars, ast.Name) and _client_base(item.context_expr, strings) is not None:
                    clients[item.optional_vars.id] = _client_base(item.context_expr, strings) or ""
    for node in sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=lambda n: n.lineno):
        func = node.func
        if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
            continue
        owner, method = func.value.id, func.attr.lower()
        if owner in ("requests", "httpx"):
            base = ""
        elif owner in clients:
            base = clients[owner]
        else:
            continue
        args = list(node.args)
        if method == "request" and args:
            method = (_py_string(args.pop(0), strings) or "").lower()
        if method not in HTTP_METHODS or not args and not any(k.arg == "url" for k in node.keywords):
            continue
        url_node = args[0] if args else next(k.value for k in node.keywords if k.arg == "url")
        path = _py_string(url_node, strings)
        url = (base + path) if path is not None else None
        if url is None or not url.startswith(("http://", "https://")):
            continue  # a base only known at run time (a fixture's URL, a variable): nothing to check
        call = Call("python", node.lineno, method=method.upper(), url=url)
        for keyword in node.keywords:
            if keyword.arg == "json":
                call.has_body = True
                call.body = _py_literal(keyword.value, strings, dicts)
                if isinstance(call.body, _Opaque):
                    call.body, call.unparsed = None, call.body.text
            elif keyword.arg in ("data", "content"):
                call.has_body = True
                raw = _py_string(keyword.value, strings)
                if raw is not None:
                    call.body, call.unparsed = _json_or_text(raw)
                else:
                    literal = _py_literal(keyword.value, strings, dicts)
                    call.body, call.unparsed = (None, ast.unparse(keyword.value)) if isinstance(literal, _Opaque) else (
                        None, f"form data {ast.unparse(keyword.value)}")
            elif keyword.arg == "params":
                params = _py_literal(keyword.value, strings, dicts)
                if isinstance(params, dict) and call.url:
                    query = "&".join(f"{k}={v}" for k, v in params.items() if not isinstance(v, _Opaque))
                    call.url += ("&" if "?" in call.url else "?") + query
            elif keyword.arg == "headers":
                headers = _py_literal(keyword.value, strings, dicts)
                if isinstance(headers, dict):
                    call.headers.update({str(k): str(v) for k, v in headers.items() if not isinstance(v, _Opaque)})
        out.append(call)
    return out


def _dedent_prompt(text: str) -> str:
    """`>>> ` / `... ` console prompts removed, so a REPL transcript parses."""
    if ">>> " not in text:
        return text
    return "\n".join(line[4:] for line in text.splitlines() if line.startswith((">>> ", "... ")))


def _client_base(node: ast.AST, strings: dict[str, str]) -> str | None:
    """`httpx.Client(base_url=…)`, `httpx.AsyncClient(…)` or `requests.Session()` -> its base ('' without)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)):
        return None
    if (node.func.value.id, node.func.attr) not in {("httpx", "Client"), ("httpx", "AsyncClient"), ("requests", "Session")}:
        return None
    for keyword in node.keywords:
        if keyword.arg == "base_url":
            return (_py_string(keyword.value, strings) or "").rstrip("/")
    return ""


def _py_string(node: ast.AST, strings: dict[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and node.id in strings:
        return strings[node.id]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue):
                inner = _py_string(value.value, strings)
                parts.append(inner if inner is not None else "{" + ast.unparse(value.value) + "}")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _py_string(node.left, strings), _py_string(node.right, strings)
        if left is not None and right is not None:
            return left + right
    return None


@dataclass
class _Opaque:
    text: str


def _py_literal(node: ast.AST, strings: dict[str, str], dicts: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name) and node.id in dicts:
        return dicts[node.id]
    try:
        return ast.literal_eval(node)
    except ValueError:
        pass
    if isinstance(node, ast.Dict):  # {**HEADERS, "key": name}: keep what is literal
        out: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                spread = _py_literal(value, strings, dicts)
                if isinstance(spread, dict):
                    out.update(spread)
            elif isinstance(key, ast.Constant):
                text = _py_string(value, strings)
                out[key.value] = text if text is not None else _py_literal(value, strings, dicts)
        return out
    if isinstance(node, ast.List):
        return [_py_literal(item, strings, dicts) for item in node.elts]
    text = _py_string(node, strings)
    return text if text is not None else _Opaque(ast.unparse(node))


# --- JavaScript: fetch and axios -----------------------------------------------------------------
_JS_CONST = re.compile(r"(?:const|let|var)\s+(\w+)\s*=\s*([\"'`])((?:(?!\2).)*)\2")


def javascript_calls(text: str) -> list[Call]:
    strings = {m.group(1): m.group(3) for m in _JS_CONST.finditer(text)}
    instances = {name: _js_object(config) for name, config in _instances(text)}
    out = []
    for match in re.finditer(r"\bfetch\s*\(", text):
        args = _js_args(text, match.end() - 1)
        if not args:
            continue
        options = _js_object(args[1]) if len(args) > 1 else {}
        call = Call("javascript", _line(text, match.start()), method=str(options.get("method") or "GET").upper(),
                    url=_js_string(args[0], strings))
        _js_headers(call, options)
        if "body" in options:
            _js_body(call, options["body"], strings)
        out.append(call)
    for match in re.finditer(r"\b(axios|\w+)\s*(?:\.\s*(get|post|put|patch|delete|head|options|request))?\s*\(", text):
        owner, verb = match.group(1), match.group(2)
        if owner != "axios" and owner not in instances:
            continue
        if owner == "axios" and verb is None and text[match.start():].startswith("axios("):
            verb = "request"
        if verb is None:
            continue
        args = _js_args(text, match.end() - 1)
        if not args:
            continue
        base = str((instances.get(owner) or {}).get("baseURL") or "")
        line = _line(text, match.start())
        if verb == "request":
            config = _js_object(args[0])
            call = Call("javascript", line, method=str(config.get("method") or "GET").upper(),
                        url=base + (_js_string(config.get("url", ""), strings) or ""))
            _js_headers(call, config)
            if "data" in config:
                _js_body(call, config["data"], strings, stringified=False)
        else:
            call = Call("javascript", line, method=verb.upper(), url=_join(base, _js_string(args[0], strings)))
            with_body = verb in ("post", "put", "patch")
            config = _js_object(args[2] if with_body and len(args) > 2 else args[1] if not with_body and len(args) > 1 else "{}")
            if with_body and len(args) > 1:
                _js_body(call, args[1], strings, stringified=False)
            _js_headers(call, config)
            params = _js_object(config.get("params", "{}"))
            if params and call.url:
                call.url += ("&" if "?" in call.url else "?") + "&".join(f"{k}={v}" for k, v in params.items())
        out.append(call)
    # a base only known at run time (`${BASE_URL}${path}` with BASE_URL from elsewhere): nothing to check
    return sorted((c for c in out if c.url and c.url.startswith(("http://", "https://"))), key=lambda c: c.line)


def _instances(text: str) -> Iterator[tuple[str, str]]:
    """`const api = axios.create({ baseURL: '…' })`: the name and its config object's source."""
    for match in re.finditer(r"(?:const|let|var)\s+(\w+)\s*=\s*axios\.create\s*\(", text):
        args = _js_args(text, match.end() - 1)
        if args:
            yield match.group(1), args[0]


def _join(base: str, path: str | None) -> str | None:
    if path is None:
        return None
    return path if path.startswith("http") or not base else base.rstrip("/") + "/" + path.lstrip("/")


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def balanced(text: str, start: int) -> str | None:
    """From `start` (an opening bracket) to its matching close, skipping strings."""
    depth, index, quote = 0, start, None
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return text[start: index + 1]
        index += 1
    return None


def _js_args(text: str, open_paren: int) -> list[str]:
    """The top-level arguments of a call, as source text."""
    inner = balanced(text, open_paren)
    if inner is None:
        return []
    inner = inner[1:-1]
    args, depth, quote, current = [], 0, None, ""
    index = 0
    while index < len(inner):
        char = inner[index]
        if quote:
            if char == "\\" and index + 1 < len(inner):
                current += char + inner[index + 1]
                index += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            args.append(current.strip())
            current = ""
            index += 1
            continue
        current += char
        index += 1
    if current.strip():
        args.append(current.strip())
    return args


def _js_object(source: Any) -> dict[str, Any]:
    """An object literal's top-level properties; values kept as source text (strings unquoted)."""
    if isinstance(source, dict):
        return source
    source = str(source).strip()
    if not source.startswith("{"):
        return {}
    out: dict[str, Any] = {}
    for part in _js_args("(" + source[1:-1] + ")", 0):
        key, sep, value = part.partition(":")
        key = key.strip().strip("\"'")
        if not sep:  # shorthand `{ body }` or a spread
            out[key] = key
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0]:
            value = value[1:-1]
        out[key] = value
    return out


def _js_string(source: str, strings: dict[str, str]) -> str | None:
    source = source.strip()
    if source in strings:
        return strings[source]
    if len(source) >= 2 and source[0] in "\"'`" and source[-1] == source[0]:
        inner = source[1:-1]
        return re.sub(r"\$\{\s*(\w+)\s*\}", lambda m: strings.get(m.group(1), m.group(0)), inner)
    parts = [p.strip() for p in source.split("+")]
    if len(parts) > 1:
        pieces = [_js_string(p, strings) for p in parts]
        if all(p is not None for p in pieces):
            return "".join(p for p in pieces if p is not None)
    return source if source.startswith("http") else None


def _js_headers(call: Call, options: dict[str, Any]) -> None:
    headers = _js_object(options.get("headers", "{}"))
    call.headers.update({k: str(v) for k, v in headers.items()})


def _js_body(call: Call, source: Any, strings: dict[str, str], stringified: bool = True) -> None:
    call.has_body = True
    text = str(source).strip()
    match = re.match(r"JSON\.stringify\s*\(", text)
    if match:
        literal = balanced(text, match.end() - 1)
        text = literal[1:-1].strip() if literal else text
    elif stringified and len(text) >= 2 and text[0] in "\"'`" and text[-1] == text[0]:
        call.body, call.unparsed = _json_or_text(text[1:-1])
        return
    try:
        call.body = json5.loads(text)
    except ValueError:
        call.body, call.unparsed = None, text
