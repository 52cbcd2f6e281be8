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


def _pairs(tokens: list[tuple[int, str, int, int]]) -> list[tuple[int, int]]:
    """The (opening, closing) token indexes of the trailing bracket pairs, last first: the
    pair that closes the line, then the one before its trailer (``(a - b).movedim(...)``)."""
    pairs = []
    end = len(tokens) - 1
    while end >= 0 and tokens[end][1] in _OPEN.values():
        depth = 0
        for index in range(end, -1, -1):
            string = tokens[index][1]
            if tokens[index][0] == tokenize.OP and string in _OPEN.values():
                depth += 1
            elif tokens[index][0] == tokenize.OP and string in _OPEN:
                depth -= 1
                if depth == 0:
                    pairs.append((index, end))
                    break
        else:
            break
        end = pairs[-1][0] - 1
        if end >= 1 and tokens[end][0] == tokenize.NAME and tokens[end - 1][1] == ".":
            end -= 2  # a method's name: the trailer before it ends just left of the dot
    return pairs


def _format(text: str, indent: int, suffix: str = "", inside: bool = False) -> list[str]:
    """``text`` at ``indent``, followed by ``suffix`` (an item's comma), split if too long.

    As ruff does, the split is at the last bracket pair whose opening line fits; failing
    that, at the last bracket pair.
    """
    pad = " " * indent
    if indent + len(text) + len(suffix) <= LINE_LENGTH:
        return [pad + text + suffix]
    operands = _split_operators(text) if inside else [text]
    if len(operands) > 1:  # inside brackets ruff splits at the operators first
        lines = []
        for operand in operands:
            lines += _format(operand, indent, inside=True)
        lines[-1] += suffix
        return lines
    tokens = _tokens(text)
    pairs = _pairs(tokens) if tokens else []
    target, equals, value = text.partition(" = ")
    if equals and not inside and _chained_calls(value) >= 2:  # ruff keeps a chain whole
        return [f"{pad}{target} = (", *_format(value, indent + 4, inside=True), f"{pad})"]
    if not pairs:
        if equals and not suffix:  # ruff wraps the value in parentheses
            return [f"{pad}{target} = (", *_format(value, indent + 4, inside=True), f"{pad})"]
        operands = _split_operators(text)
        if len(operands) > 1:  # one operand per line, each line starting with its operator
            lines = _format(operands[0], indent)
            for operand in operands[1:]:
                lines += _format(operand, indent)
            lines[-1] += suffix
            return lines
        return [pad + text + suffix]
    chosen = next(
        (pair for pair in pairs if indent + len(text[: tokens[pair[0]][3]]) <= LINE_LENGTH),
        pairs[0],
    )
    opening, closing = chosen
    head = text[: tokens[opening][3]]
    body = text[tokens[opening][3] : tokens[closing][2]].strip()
    tail = text[tokens[closing][2] :] + suffix
    if not body:
        return [pad + text + suffix]
    items = _split_items(body)
    inner = indent + 4
    trailing = body.rstrip().endswith(",")
    if not trailing and inner + len(body) <= LINE_LENGTH:
        return [pad + head, " " * inner + body, pad + tail]
    if len(items) == 1 and not trailing:
        return [pad + head, *_format(body, inner, inside=True), pad + tail]
    lines = [pad + head]
    for item in items:
        lines += _format(item, inner, ",", inside=True)
    return [*lines, pad + tail]


def _chained_calls(text: str) -> int:
    """How many top-level ``.method`` follow a closing bracket: ``a.b(1).c(2).d()`` has 2."""
    depth, count, previous = 0, 0, ""
    for kind, string, _, _ in _tokens(text):
        if kind == tokenize.OP and string in _OPEN:
            depth += 1
        elif kind == tokenize.OP and string in _OPEN.values():
            depth -= 1
        elif depth == 0 and string == "." and previous in _OPEN.values():
            count += 1
        previous = string
    return count


_PRIORITY = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2}


def _split_operators(text: str) -> list[str]:
    """``a + b * c`` as ``["a", "+ b * c"]``: split before each top-level binary operator of
    the lowest priority, as ruff splits a long expression (one operand per line)."""
    tokens = _tokens(text)
    depth, found, previous = 0, [], None
    for kind, string, start, _ in tokens:
        if kind == tokenize.OP and string in _OPEN:
            depth += 1
        elif kind == tokenize.OP and string in _OPEN.values():
            depth -= 1
        elif depth == 0 and string in _PRIORITY and previous not in (None, "(", ",", "="):
            found.append((_PRIORITY[string], start))
        previous = string
    if not found:
        return [text]
    lowest = min(priority for priority, _ in found)
    cuts = [start for priority, start in found if priority == lowest]
    parts = [text[a:b].strip() for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return parts


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
