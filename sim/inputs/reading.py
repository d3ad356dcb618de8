"""Reading a TOML file safely: its size and nesting bounded before the parser sees it.

Python's ``tomllib`` recurses once per level of nested arrays and inline tables, and
``copy.deepcopy`` and pydantic once per level of tables: a file nested a few thousand
levels deep would end in a ``RecursionError``. :func:`nesting_depth` measures the depth with
one pass over the text and no recursion, so such a file is refused with its line first.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from sim.inputs.errors import refuse, shorten
from sim.inputs.limits import MAX_DEPTH, MAX_FILE_BYTES

_TOKEN = re.compile(r"\"\"\"|'''|[\"'#\[\]{}=,.\n]")
_BASIC = re.compile(r'(?:[^"\\\n]|\\.)*')
_LITERAL = re.compile(r"[^'\n]*")
_BARE_MONTH = re.compile(r"=\s*(\d{4}-\d{2})(?![\d-])")


def nesting_depth(text: str, limit: int = MAX_DEPTH) -> tuple[int, int]:
    """The deepest nesting of a TOML text (tables, dotted keys, arrays and inline tables all
    count a level), and its line; the scan stops at the first line deeper than ``limit``.

    A tolerant scanner: on a malformed text it may miscount, and the parser, given a text no
    deeper than the limit, then reports the syntax error itself.
    """
    deepest, where, line, pos = 0, 0, 1, 0
    stack: list[tuple[str, int, int]] = []  # (bracket, depth of keys, depth of values) saved
    table = 0  # depth of the last [table] header
    keys = 0  # depth of the container keys are written into
    parts = 1  # parts of the key being read
    value = 0  # depth of the value being read
    mode = "key"  # key | value | header
    while True:
        match = _TOKEN.search(text, pos)
        if match is None:
            return deepest, where
        token, pos = match.group(), match.end()
        level = 0
        if token == "\n":
            line += 1
            if not stack:
                mode, keys, parts = "key", table, 1
        elif token == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        elif token in ('"""', "'''"):
            end = _closing(text, token, pos)
            line += text.count("\n", pos, end)
            pos = end + 3
        elif token == '"':
            pos = _BASIC.match(text, pos).end() + 1
        elif token == "'":
            pos = _LITERAL.match(text, pos).end() + 1
        elif mode == "header":
            if token == ".":
                parts += 1
            elif token == "[":
                table = 1  # an array of tables: its items are one level deeper
            elif token == "]" and parts:
                table, parts = parts + table, 0
                level = table
        elif mode == "key":
            if token == "[" and not stack:
                mode, parts, table = "header", 1, 0
            elif token == ".":
                parts += 1
            elif token == "=":
                mode, value = "value", keys + parts
                level = value
            elif token == "}" and stack:
                _, keys, value = stack.pop()
                mode = "value"
        elif token == "[":
            stack.append(("[", keys, value))
            value += 1
            level = value
        elif token == "{":
            stack.append(("{", keys, value))
            mode, keys, parts = "key", value, 1
        elif token in "]}" and stack:
            _, keys, value = stack.pop()
        elif token == "," and stack and stack[-1][0] == "{":
            mode, parts = "key", 1
        if level > deepest:
            deepest, where = level, line
            if deepest > limit:
                return deepest, where


def _closing(text: str, quote: str, pos: int) -> int:
    """Where a multi-line string opened before ``pos`` closes (the end of text if never)."""
    while True:
        end = text.find(quote, pos)
        if end < 0:
            return len(text)
        slashes = len(text[pos:end]) - len(text[pos:end].rstrip("\\"))
        if quote == "'''" or slashes % 2 == 0:
            return end
        pos = end + 1


def parse_text(text: str, source: str | Path, what: str = "") -> dict[str, Any]:
    """Parse TOML text whose nesting is first bounded; a ScenarioError names the line."""
    depth, line = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise refuse(
            source,
            what,
            f"nested more than {MAX_DEPTH} levels deep (tables, dotted keys, arrays and inline "
            f"tables each count one); at most {MAX_DEPTH}",
            line or None,
        )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        where = re.search(r"at line (\d+)", str(err))
        line = int(where[1]) if where else None
        lines = text.split("\n")
        bare = _BARE_MONTH.search(lines[line - 1]) if line and line <= len(lines) else None
        hint = f'; write dates as quoted text, "{bare[1]}"' if bare else ""
        raise refuse(source, what, f"not valid TOML: {err}{hint}", line) from None
    except RecursionError:  # a nesting the scanner misjudged: still no traceback
        raise refuse(source, what, f"nested too deeply; at most {MAX_DEPTH} levels") from None


def read_text(path: Path) -> str:
    """A file's text, at most :data:`MAX_FILE_BYTES` (refused beyond, before reading it all)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise refuse(shorten(str(path), 120), "", f"cannot read file: {reason}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise refuse(path, "", f"file larger than {MAX_FILE_BYTES:,} bytes; at most that")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse(path, "", "not a UTF-8 text file") from None


def check_path_argument(option: str, value: str | Path) -> None:
    """A file or folder named on the command line: refused (not a traceback) if no file
    system could hold it (a part longer than 255 characters, a NUL byte)."""
    from sim.inputs.errors import COMMAND_LINE
    from sim.inputs.limits import MAX_PATH_CHARS

    text = str(value)
    if "\0" in text or any(len(part) > MAX_PATH_CHARS for part in Path(text).parts):
        raise refuse(
            COMMAND_LINE,
            option,
            f"{shorten(text)!r} is not a file name: at most {MAX_PATH_CHARS} characters "
            "between slashes, and no NUL",
        )
