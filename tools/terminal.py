r"""Text made safe for a terminal: control and escape characters shown, never obeyed.

Model answers, document titles and file names are not ours: an ESC, CSI or OSC in them
could clear the screen, set the window title or write the clipboard (OSC 52). Before such
text is printed, every C0 control (but newline and tab), DEL, every C1 control and any
lone surrogate becomes a visible escape (`\x1b`, `\x9b`, `\ud800`). A leaf module.
"""

from __future__ import annotations

import re

_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_IN_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_UNSAFE_IN_JSON = re.compile(r"[\x7f-\x9f\ud800-\udfff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match[0]):04x}"


def safe(text: str) -> str:
    r"""Text for the terminal: control characters but newline and tab shown as `\xNN`."""
    return _UNSAFE.sub(_visible, text)


def safe_line(text: str) -> str:
    """One field of one line (a title, a file name): newlines and tabs are shown too."""
    return _UNSAFE_IN_LINE.sub(_visible, text)


def safe_json(text: str) -> str:
    r"""JSON text with DEL, C1 controls and lone surrogates written as `\uXXXX` escapes.

    json.dumps and pydantic already escape C0 controls (ESC is `\u001b`); these others
    are legal raw inside JSON strings but some terminals obey C1 controls. Outside strings
    valid JSON holds none of them, so the escape never changes what the JSON means.
    """
    return _UNSAFE_IN_JSON.sub(_json_escape, text)
