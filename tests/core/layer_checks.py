"""Small assertions the per-family layer tests share."""

from typing import Any

from core.layers import get_spec


def plain(text: str, *words: str) -> None:
    """A sentence for non-programmers that mentions ``words``."""
    assert len(text) > 15 and text.endswith(".") and text[0].isalpha(), text
    for bad in ["Traceback", "Error", "None", "tuple", "{", "[", "__"]:
        assert bad not in text, text
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"


def params_of(kind: str, **given: Any) -> dict[str, Any]:
    """Complete params of ``kind`` from ``given``, which must be valid."""
    params, problems = get_spec(kind).validate_params(given)
    assert not problems, problems
    return params
