"""The ``fields`` system parameter: parse a selector, validate it, cut a response down to it.

Format per [DOC guides/fields-parameter] "Formatting rules for the fields parameter":

* a comma-separated list selects several fields: ``name, mimeType``;
* ``a/b`` selects ``b`` nested in ``a``: ``capabilities/canDownload``;
* a sub-selector in parentheses picks sub-fields of objects or of every element of an array:
  ``files(id,name,capabilities(canUntrash))``;
* ``*`` is a wildcard for all fields of an object.

A selection naming a field the resource does not have is a 400 "Invalid field selection NAME"
[same page: ``files(id,capabilities,canAddChildren)`` yields "Invalid field selection
canAddChildren"]. Validation uses the schemas of the discovery document shipped with
google-api-python-client, so a field Drive knows but the fake leaves unset is accepted (and simply
absent from the response, as Drive omits unset fields), while a typo fails as it would live.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "FieldsError",
    "Selection",
    "apply_selection",
    "discovery",
    "parse_fields",
    "validate_selection",
]

# field name -> sub-selection, or None for "the whole value"
Selection = dict[str, "Selection | None"]


class FieldsError(ValueError):
    """An invalid ``fields`` value; ``args[0]`` is the offending field name."""


@cache
def discovery(api: str, version: str) -> dict[str, Any]:
    """The discovery document google-api-python-client ships for ``api``/``version``.

    These are Google's own machine-readable API descriptions (method scopes, resource schemas);
    reading them keeps the fake's field and scope checks in step with the real API revision.
    """
    path = resources.files("googleapiclient") / "discovery_cache" / "documents"
    return json.loads((path / f"{api}.{version}.json").read_text(encoding="utf-8"))


_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|\*|[(),/])\s*")


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FieldsError(text[pos:].split(",")[0].strip() or text)
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


def _merge(into: Selection, key: str, sub: Selection | None) -> None:
    if key in into and into[key] is None:
        return  # already selecting the whole value
    if sub is None or key not in into:
        into[key] = sub
        return
    existing = into[key]
    assert existing is not None
    for name, deeper in sub.items():
        _merge(existing, name, deeper)


class _Parser:
    """selection := item (',' item)* ; item := path ('(' selection ')')? ; path := seg ('/' seg)*"""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise FieldsError("")
        self.pos += 1
        return token

    def selection(self) -> Selection:
        result: Selection = {}
        while True:
            path, sub = self.item()
            # a/b/c(d) nests as {a: {b: {c: {d}}}}
            for name in reversed(path[1:]):
                sub = {name: sub}
            _merge(result, path[0], sub)
            if self.peek() != ",":
                return result
            self.take()

    def item(self) -> tuple[list[str], Selection | None]:
        path = [self.segment()]
        while self.peek() == "/":
            self.take()
            path.append(self.segment())
        sub: Selection | None = None
        if self.peek() == "(":
            self.take()
            sub = self.selection()
            if self.take() != ")":
                raise FieldsError(path[-1])
        return path, sub

    def segment(self) -> str:
        token = self.take()
        if token in {"(", ")", ",", "/"}:
            raise FieldsError(token)
        return token


def parse_fields(text: str | None) -> Selection | None:
    """Parse a ``fields`` value; None when absent (the method's default fields apply)."""
    if text is None or not text.strip():
        return None
    parser = _Parser(_tokens(text))
    result = parser.selection()
    if parser.peek() is not None:
        raise FieldsError(parser.peek() or "")
    return result


def _schema_of(prop: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema a property leads into (through arrays and $refs), if any."""
    if "$ref" in prop:
        return schemas[prop["$ref"]]
    if prop.get("type") == "array":
        return _schema_of(prop.get("items", {}), schemas)
    if prop.get("type") == "object":
        return prop
    return None


def validate_selection(
    selection: Selection, schema_name: str, api: str = "drive", version: str = "v3"
) -> None:
    """Raise :class:`FieldsError` if ``selection`` names a field ``schema_name`` lacks."""
    schemas = discovery(api, version)["schemas"]
    _validate(selection, schemas[schema_name], schemas)


def _validate(selection: Selection, schema: dict[str, Any], schemas: dict[str, Any]) -> None:
    properties = schema.get("properties")
    for name, sub in selection.items():
        if name == "*":
            continue
        if properties is None:
            if "additionalProperties" in schema:  # a map: any key is a valid selection
                continue
            raise FieldsError(name)
        if name not in properties:
            raise FieldsError(name)
        if sub is None:
            continue
        inner = _schema_of(properties[name], schemas)
        if inner is None:
            raise FieldsError(next(iter(sub)))
        _validate(sub, inner, schemas)


def apply_selection(value: Any, selection: Selection | None) -> Any:
    """Keep only the selected parts of ``value``; arrays apply the selection to each element."""
    if selection is None:
        return value
    if isinstance(value, list):
        return [apply_selection(v, selection) for v in value]
    if not isinstance(value, dict):
        return value
    if "*" in selection:
        return value
    out: dict[str, Any] = {}
    for key, sub in selection.items():
        if key in value:
            out[key] = apply_selection(value[key], sub)
    return out
