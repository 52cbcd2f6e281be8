"""Line breaking for generated statements, the way ``ruff format`` breaks them.

Generated code is written one statement per line; a statement longer than the line length is
split at its last bracket pair, as ruff (and black) do: first with the bracket's contents on
one indented line, and if that is still too long, one item per line with a trailing comma,
each item split again when it needs to be.
"""

from __future__ import annotations

import io
import tokenize

LINE_LENGTH = 88
_OPEN = {"(": ")", "[": "]", "{": "}"}


def format_lines(statements: list[str], indent: int) -> list[str]:
    """Each statement as formatted lines at ``indent`` spaces."""
    lines: list[str] = []
    for statement in statements:
        lines += _format(statement, indent)
    return lines


def _tokens(text: str) -> list[tuple[int, str, int, int]]:
    """(type, string, start, end) of every token, with offsets into ``text``."""
    result = []
    reader = io.StringIO(text).readline
    for token in tokenize.generate_tokens(reader):
        if token.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        result.append((token.type, token.string, token.start[1], token.end[1]))
    return result


def _format(text: str, indent: int, suffix: str = "") -> list[str]:
    """``text`` at ``indent``, followed by ``suffix`` (an item's comma), split if too long."""
    pad = " " * indent
    if indent + len(text) + len(suffix) <= LINE_LENGTH:
        return [pad + text + suffix]
    tokens = _tokens(text)
    if not tokens or tokens[-1][1] not in _OPEN.values():
        return [pad + text + suffix]
    depth = 0
    start = None
    for index in range(len(tokens) - 1, -1, -1):  # the bracket that closes at the end
        kind, string, *_ = tokens[index]
        if kind == tokenize.OP and string in _OPEN.values():
            depth += 1
        elif kind == tokenize.OP and string in _OPEN:
            depth -= 1
            if depth == 0:
                start = index
                break
    if start is None:
        return [pad + text + suffix]
    head = text[: tokens[start][3]]
    body = text[tokens[start][3] : tokens[-1][2]].strip()
    tail = text[tokens[-1][2] :] + suffix
    if not body:
        return [pad + text + suffix]
    items = _split_items(body)
    inner = indent + 4
    trailing = body.rstrip().endswith(",")
    if not trailing and inner + len(body) <= LINE_LENGTH:
        return [pad + head, " " * inner + body, pad + tail]
    if len(items) == 1 and not trailing:
        return [pad + head, *_format(body, inner), pad + tail]
    lines = [pad + head]
    for item in items:
        lines += _format(item, inner, ",")
    return [*lines, pad + tail]


def _split_items(body: str) -> list[str]:
    """The comma-separated items of a bracket's contents, at the top level."""
    items = []
    depth = 0
    begin = 0
    for kind, string, start, end in _tokens(body):
        if kind != tokenize.OP:
            continue
        if string in _OPEN:
            depth += 1
        elif string in _OPEN.values():
            depth -= 1
        elif string == "," and depth == 0:
            items.append(body[begin:start].strip())
            begin = end
    last = body[begin:].strip()
    if last:
        items.append(last)
    return items


def quoted(text: str) -> str:
    """``text`` as a string literal the way ``ruff format`` writes it: double quotes unless the
    text holds more double than single quotes. Any text is safe: the result is a literal."""
    literal = repr(text)
    inner = literal[1:-1]
    if literal[0] == "'":
        inner = inner.replace("\\'", "'")
    quote = "'" if text.count('"') > text.count("'") else '"'
    return quote + inner.replace(quote, "\\" + quote) + quote
