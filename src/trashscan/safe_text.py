"""Text that came from data (file names, paths, provider messages) made safe to show a person.

A file name is chosen by whoever trashed the file, or shared the folder, or prepared the drive.
Shown raw, an ESC sequence in it recolours or clears the terminal, a newline or carriage return
forges a line such as ``OK: nothing will be purged`` in a cron mail, and a right-to-left override
makes ``photo‮gpj.exe`` read as something else. So every place that shows data to a person
passes it through :func:`printable`, which writes those characters as visible escapes:

* C0 controls, DEL and C1 controls (``\\x00``-``\\x1f``, ``\\x7f``-``\\x9f``): ``\\n``, ``\\r``,
  ``\\t`` by name, the others as ``\\xNN``;
* the Unicode bidirectional controls (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and
  the line and paragraph separators U+2028 and U+2029 (some readers and terminals break lines
  there), as ``\\uNNNN``;
* lone surrogates (``\\udcNN``), which cannot be written as UTF-8 at all.

Everything else, accented letters, emoji and the zero-width joiner inside them included, is shown
as it is. A backslash is not doubled: the escaped form is for reading, not for parsing; programs
get the exact value from JSON or CSV. :func:`json_text` keeps that value exact while writing the
same characters as JSON ``\\u`` escapes, so even JSON printed to a terminal carries nothing raw.

Markup is a separate matter: rich is only ever given :class:`rich.text.Text` (or
``markup=False``), so ``[/b]`` in a name is shown as written; see :mod:`trashscan.output`.
"""

from __future__ import annotations

import logging
import re
from typing import Any

#: Every character :func:`printable` escapes.
UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
# What json.dumps(ensure_ascii=False) leaves raw: it already escapes C0, quote and backslash.
_JSON_RAW = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def printable(value: object) -> str:
    """``value`` as one line of text that a terminal, mail reader or chat shows, never obeys."""
    text = value if isinstance(value, str) else str(value)
    return UNSAFE.sub(_escape, text)


def printable_lines(text: str) -> str:
    """Like :func:`printable` but keeps ``\\n``: for our own multi-line messages that quote data."""
    return "\n".join(printable(line) for line in text.split("\n"))


def json_text(value: Any, **kwargs: Any) -> str:
    """``json.dumps`` that stays readable (non-ASCII kept) yet never emits a raw control,
    bidi or separator character: those are written as ``\\uNNNN``, which decodes to the exact
    value. They can only occur inside JSON strings, so replacing them there is exact."""
    global _ENCODER
    if kwargs:
        import json

        text = json.dumps(value, ensure_ascii=False, **kwargs)
    else:  # one encoder for every call (json.dumps makes one per call with our options)
        if _ENCODER is None:
            import json

            _ENCODER = json.JSONEncoder(ensure_ascii=False)
        text = _ENCODER.encode(value)
    return escape_json_raw(text)


def escape_json_raw(text: str) -> str:
    """What :func:`json_text` does to ``json.dumps``'s text: every raw control, bidi or
    separator character as ``\\uNNNN`` (for JSON written by hand, as ``list`` writes it)."""
    if text.isascii() and "\x7f" not in text:  # nothing to escape: skip the regex
        return text
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_ENCODER: Any = None


class PrintableFormatter(logging.Formatter):
    """Log lines quote paths and names from data: each record's message is escaped."""

    def format(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord(record.__dict__)
        safe.msg, safe.args = printable(record.getMessage()), None
        return super().format(safe)


def escape_stderr_logging() -> None:
    """Escape what Python's last-resort handler writes to stderr (our warnings, when no logging
    is configured, which is how the CLI runs)."""
    if logging.lastResort is not None:
        logging.lastResort.setFormatter(PrintableFormatter())
