"""A recursive-descent parser for the subset of Drive's ``q`` search syntax the fake supports.

Syntax per [DOC ref-search-terms]: a query is ``query_term operator values`` clauses combined with
``and``, ``or``, ``not`` and parentheses; string values are single-quoted with ``\\'`` and ``\\\\``
escapes; the operators are ``contains = != < <= > >= in has``.

The fake parses rather than ignores ``q`` so that a plugin sending a malformed or unsupported query
fails here the way it would against Drive (400 ``invalid`` on ``q``), instead of silently getting
every file. Supported terms, each with the operators the reference lists for it:

=================  ===========================  ==========================================
term               operators                    value
=================  ===========================  ==========================================
``name``           ``contains = !=``            string (``contains`` is word-prefix match)
``mimeType``       ``contains = !=``            string
``trashed``        ``= !=``                     ``true`` / ``false``
``createdTime``    ``< <= = != > >=``           RFC 3339 string
``modifiedTime``   ``< <= = != > >=``           RFC 3339 string
``parents``        ``'ID' in parents``          folder ID
``owners``         ``'EMAIL' in owners``        email address or ``'me'``
``hidden``         ``= !=``                     ``true`` / ``false`` (drives.list only)
=================  ===========================  ==========================================

Anything else (``fullText``, ``starred``, ``explicitlyTrashed``, which is a File field but not a
search term, ``has``) raises :class:`QueryError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from trashscan_google_drive.sandbox.model import parse_rfc3339

__all__ = [
    "DRIVE_TERMS",
    "FILE_TERMS",
    "And",
    "Compare",
    "Contains",
    "Node",
    "Not",
    "Or",
    "QueryError",
    "evaluate",
    "parse_query",
]


class QueryError(ValueError):
    """The query is malformed or uses a term the fake does not support."""


@dataclass(frozen=True)
class Compare:
    """``field op value`` (``contains`` included)."""

    field: str
    op: str
    value: str | bool | datetime


@dataclass(frozen=True)
class Contains:
    """``'value' in field`` (collection membership)."""

    value: str
    field: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


Node = Compare | Contains | Not | And | Or

_STRING, _BOOL, _TIME, _COLLECTION = "string", "bool", "time", "collection"
_TIME_OPS = frozenset({"<", "<=", "=", "!=", ">", ">="})

# term -> (value kind, allowed operators), per [DOC ref-search-terms] "File-specific query terms"
FILE_TERMS: dict[str, tuple[str, frozenset[str]]] = {
    "name": (_STRING, frozenset({"contains", "=", "!="})),
    "mimeType": (_STRING, frozenset({"contains", "=", "!="})),
    "trashed": (_BOOL, frozenset({"=", "!="})),
    "createdTime": (_TIME, _TIME_OPS),
    "modifiedTime": (_TIME, _TIME_OPS),
    "parents": (_COLLECTION, frozenset({"in"})),
    "owners": (_COLLECTION, frozenset({"in"})),
}
# [DOC ref-search-terms] "Drive-specific query terms" (drives.list), the subset modelled
DRIVE_TERMS: dict[str, tuple[str, frozenset[str]]] = {
    "name": (_STRING, frozenset({"contains", "=", "!="})),
    "hidden": (_BOOL, frozenset({"=", "!="})),
    "createdTime": (_TIME, _TIME_OPS),
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<paren>[()])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_KEYWORDS = frozenset({"and", "or", "not", "contains", "in", "has", "true", "false"})


@dataclass(frozen=True)
class _Tok:
    kind: str  # string, op, paren, word, keyword
    text: str


def _tokenize(query: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(query):
        match = _TOKEN.match(query, pos)
        if match is None or match.end() == pos:
            break  # only trailing whitespace remains
        pos = match.end()
        kind = match.lastgroup
        text = match.group(kind or "bad")
        if kind == "bad":
            raise QueryError(f"unexpected character {text!r}")
        if kind == "string":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])  # \' and \\ escapes
        elif kind == "word" and text.lower() in _KEYWORDS:
            kind, text = "keyword", text.lower()
        tokens.append(_Tok(kind or "bad", text))
    return tokens


class _Parser:
    """query := or ; or := and ('or' and)* ; and := unary ('and' unary)* ;
    unary := 'not' unary | '(' or ')' | clause"""

    def __init__(self, tokens: list[_Tok], terms: dict[str, tuple[str, frozenset[str]]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.terms = terms

    def peek(self) -> _Tok | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Tok:
        token = self.peek()
        if token is None:
            raise QueryError("unexpected end of query")
        self.pos += 1
        return token

    def accept(self, kind: str, text: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == kind and token.text == text:
            self.pos += 1
            return True
        return False

    def parse(self) -> Node:
        node = self.parse_or()
        if self.peek() is not None:
            raise QueryError(f"unexpected {self.peek()!r}")
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.accept("keyword", "or"):
            node = Or(node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_unary()
        while self.accept("keyword", "and"):
            node = And(node, self.parse_unary())
        return node

    def parse_unary(self) -> Node:
        if self.accept("keyword", "not"):
            return Not(self.parse_unary())
        if self.accept("paren", "("):
            node = self.parse_or()
            if not self.accept("paren", ")"):
                raise QueryError("missing ')'")
            return node
        return self.parse_clause()

    def parse_clause(self) -> Node:
        first = self.take()
        if first.kind == "string":  # 'value' in field
            if not self.accept("keyword", "in"):
                raise QueryError("a quoted value must be followed by 'in'")
            term = self.take()
            kind, ops = self._term(term)
            if kind != _COLLECTION or "in" not in ops:
                raise QueryError(f"'in' is not valid for {term.text}")
            return Contains(first.text, term.text)
        kind, ops = self._term(first)
        op_token = self.take()
        if op_token.kind not in {"op", "keyword"} or op_token.text not in ops:
            raise QueryError(f"operator {op_token.text!r} is not valid for {first.text}")
        value = self.take()
        if kind == _BOOL:
            if value.kind != "keyword" or value.text not in {"true", "false"}:
                raise QueryError(f"{first.text} takes true or false")
            return Compare(first.text, op_token.text, value.text == "true")
        if value.kind != "string":
            raise QueryError(f"{first.text} takes a quoted string")
        if kind == _TIME:
            try:
                return Compare(first.text, op_token.text, parse_rfc3339(value.text))
            except ValueError as exc:
                raise QueryError(f"bad time {value.text!r}") from exc
        return Compare(first.text, op_token.text, value.text)

    def _term(self, token: _Tok) -> tuple[str, frozenset[str]]:
        if token.kind != "word" or token.text not in self.terms:
            raise QueryError(f"unsupported query term {token.text!r}")
        return self.terms[token.text]


def parse_query(
    query: str | None, terms: dict[str, tuple[str, frozenset[str]]] = FILE_TERMS
) -> Node | None:
    """Parse ``q``; None for an absent or blank query (which matches everything)."""
    if query is None or not query.strip():
        return None
    return _Parser(_tokenize(query), terms).parse()


def _word_prefix(value: str, needle: str) -> bool:
    """``name contains`` is prefix matching on words: for ``HelloWorld``, ``'Hello'`` matches and
    ``'World'`` does not [DOC ref-search-terms, note on ``contains``]. Case-insensitive."""
    haystack, needle = value.casefold(), needle.casefold()
    if haystack.startswith(needle):
        return True
    return any(word.startswith(needle) for word in re.split(r"[\s_\-.()\[\],]+", haystack))


Accessor = Callable[[str], object]


def evaluate(node: Node | None, get: Accessor) -> bool:
    """Evaluate a parsed query; ``get(field)`` returns the item's value for a term."""
    if node is None:
        return True
    if isinstance(node, And):
        return evaluate(node.left, get) and evaluate(node.right, get)
    if isinstance(node, Or):
        return evaluate(node.left, get) or evaluate(node.right, get)
    if isinstance(node, Not):
        return not evaluate(node.operand, get)
    if isinstance(node, Contains):
        collection = get(node.field)
        return isinstance(collection, Collection) and node.value in collection
    actual = get(node.field)
    if node.op == "contains":
        if not isinstance(actual, str) or not isinstance(node.value, str):
            return False
        if node.field == "name":
            return _word_prefix(actual, node.value)
        return node.value in actual
    if actual is None:
        return node.op == "!="
    comparisons: dict[str, Callable[[object, object], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,  # type: ignore[operator]
        "<=": lambda a, b: a <= b,  # type: ignore[operator]
        ">": lambda a, b: a > b,  # type: ignore[operator]
        ">=": lambda a, b: a >= b,  # type: ignore[operator]
    }
    return comparisons[node.op](actual, node.value)
