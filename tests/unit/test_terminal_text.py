"""tools/terminal.py: control and escape characters are shown, never sent raw."""

from __future__ import annotations

import json

import pytest

from tools.terminal import safe, safe_json, safe_line

HOSTILE = "a\x1b]52;c;eA==\x07b\x1b[2Jc\x9b31md\x7fe\x00f\rg\ud800h"


def test_safe_keeps_newlines_and_tabs_and_shows_the_rest() -> None:
    assert safe("line 1\n\tline 2") == "line 1\n\tline 2"
    assert safe(HOSTILE) == ("a\\x1b]52;c;eA==\\x07b\\x1b[2Jc\\x9b31md\\x7fe\\x00f\\x0dg\\ud800h")


def test_safe_line_shows_newlines_and_tabs_too() -> None:
    assert safe_line("title\nSources:\tfake") == "title\\x0aSources:\\x09fake"


@pytest.mark.parametrize("char", [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]])
def test_no_control_character_survives(char: str) -> None:
    assert char not in safe_line(f"x{char}y")
    if char not in "\n\t":
        assert char not in safe(f"x{char}y")


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_safe_json_is_valid_json_holding_the_exact_text(ensure_ascii: bool) -> None:
    value = {"title": HOSTILE.replace("\ud800", ""), "n": 1}
    text = safe_json(json.dumps(value, ensure_ascii=ensure_ascii))
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)
    assert json.loads(text) == value


def test_safe_json_escapes_a_lone_surrogate_that_cannot_be_encoded() -> None:
    text = safe_json(json.dumps({"t": "a\ud800b"}, ensure_ascii=False))
    text.encode("utf-8")  # printable: no lone surrogate left
    assert json.loads(text) == {"t": "a\ud800b"}
