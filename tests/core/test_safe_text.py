"""What `trashscan.safe_text` escapes for people, and what it keeps exact for programs."""

from __future__ import annotations

import json
import logging

import pytest

from trashscan.safe_text import UNSAFE, PrintableFormatter, json_text, printable, printable_lines


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Party [/b] 2024.jpg", "Party [/b] 2024.jpg"),  # markup is not our business here
        ("Strand Tag é 🌅.png", "Strand Tag é 🌅.png"),  # ordinary Unicode stays as it is
        ("a\nb", "a\\nb"),
        ("a\r\tb", "a\\r\\tb"),
        ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),
        ("nul\x00 bell\x07 us\x1f", "nul\\x00 bell\\x07 us\\x1f"),
        ("del\x7f", "del\\x7f"),
        ("c1 \x80 csi\x9b31m nel\x85", "c1 \\x80 csi\\x9b31m nel\\x85"),
        ("rlo\u202egpj.exe", "rlo\\u202egpj.exe"),
        ("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069", None),
        ("line\u2028para\u2029", "line\\u2028para\\u2029"),
        ("lone \udcff surrogate", "lone \\udcff surrogate"),
        ("zwj 👨\u200d👩\u200d👧 kept", "zwj 👨\u200d👩\u200d👧 kept"),
    ],
)
def test_printable_escapes_what_a_terminal_would_act_on(raw: str, shown: str | None) -> None:
    result = printable(raw)
    if shown is not None:
        assert result == shown
    assert not UNSAFE.search(result)
    assert result.isprintable() or "\u200d" in result  # ZWJ is a format character, kept
    assert len(result.splitlines()) <= 1


def test_printable_accepts_any_value() -> None:
    assert printable(None) == "None"
    assert printable(42) == "42"


def test_printable_lines_keeps_our_line_breaks_only() -> None:
    assert printable_lines("first\nsecond \x1b[2J\rthird") == "first\nsecond \\x1b[2J\\rthird"


def test_json_text_is_exact_and_never_raw() -> None:
    value = {
        "name": "a\nb\x1b[2J\x7f\x9b\u202e\u2028\u2029\udcff [/b] é",
        "quote": 'say "hi" \\ there',
    }
    text = json_text(value)
    assert json.loads(text) == value
    assert not UNSAFE.search(text)
    assert json.loads(json_text(value, indent=1)) == value
    assert "é" in text  # still readable, not ASCII-only


def test_log_records_are_escaped_whatever_their_arguments() -> None:
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "skipping %s: %s", ("/t/\x1b[31mevil\nOK", "bad"), None
    )
    assert PrintableFormatter().format(record) == "skipping /t/\\x1b[31mevil\\nOK: bad"
