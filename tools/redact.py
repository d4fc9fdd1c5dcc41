"""Secrets out of anything shown: URLs' passwords, secret query parameters, bearer tokens, keys.

A leaf module (the standard library only): settings, errors and every front end use it, so
a message is redacted once, where it is made, whatever prints it later.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit

MASK = "***"
SECRET_WORDS = frozenset(
    {"key", "pass", "pwd", "auth", "authorization", "credential", "credentials", "sig", "signature"}
)
"""A name with one of these words (split at `_`, `-`, `.`) is a secret's name."""
SECRET_ENDINGS = ("password", "passwd", "secret", "token", "apikey", "accesskey")
"""A name with a word ending so (`sslpassword`, `apikey`, `api_key`) is a secret's name too."""
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>()\[\]{}]+")
_BEARER = re.compile(r"\b(Bearer|Basic|Token)(\s+)[^\s'\",;]+", re.IGNORECASE)
_KEY_LIKE = re.compile(r"\b(sk|pk|rk|ak)-[A-Za-z0-9_\-]{6,}")
_PAIR = re.compile(  # name=value, or "name": value as in JSON (a colon in prose is not one)
    # Names are bounded (64 characters): an unbounded name made a 1 MB word cost O(n^2).
    r"""(?P<name>["'][A-Za-z_][A-Za-z0-9_.-]{0,63}["'](?=\s*:)|[A-Za-z_][A-Za-z0-9_.-]{0,63}"""
    r"""(?=\s{0,8}=))(?P<sep>\s*[=:]\s*)(?P<quote>["']?)(?P<value>[^\s"',;&}]+)""",
)
MIN_KNOWN = 6
"""Environment values shorter than this are not hunted for in text (too many false hits)."""


def is_secret_name(name: str) -> bool:
    """Whether a parameter, field or variable of this name holds a secret (`api_key`, `pwd`)."""
    words = re.split(r"[^a-z0-9]+", name.lower())
    return any(w in SECRET_WORDS or w.endswith(SECRET_ENDINGS) for w in words if w)


def _query(query: str) -> str:
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        parts.append(f"{name}={MASK}" if eq and value and is_secret_name(name) else part)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """The URL with the password of its userinfo and its secret query parameters masked.

    `postgresql://me:pw@db/x?sslpassword=s` -> `postgresql://me:***@db/x?sslpassword=***`.
    A URL that does not parse is masked whole after its scheme rather than shown.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        scheme, sep, _ = url.partition("://")
        return f"{scheme}{sep}{MASK}" if sep else MASK
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"
    query, fragment = _query(parts.query), _query(parts.fragment)
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url  # nothing secret: the text as it was, to the last character
    head = f"{parts.scheme}://{netloc}" if parts.scheme else netloc
    return head + parts.path + (f"?{query}" if query else "") + (f"#{fragment}" if fragment else "")


def _pair(match: re.Match[str]) -> str:
    if not is_secret_name(match["name"]) or match["value"] == MASK:
        return match[0]
    return f"{match['name']}{match['sep']}{match['quote']}{MASK}"


def known_secrets() -> list[str]:
    """Values of environment variables whose names say they hold a secret (API keys, tokens)."""
    return [
        value
        for name, value in os.environ.items()
        if len(value) >= MIN_KNOWN and is_secret_name(name) and not name.startswith("LC_")
    ]


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Free text (an error line, a server's error body) with every secret in it masked.

    Masks URLs' passwords and secret query parameters, `Bearer ...` credentials,
    `sk-...`-style keys, `password=...` / `"api_key": "..."` pairs, and any exact
    occurrence of `secrets` or of a secret-named environment variable's value.
    """
    for value in sorted({*secrets, *known_secrets()}, key=len, reverse=True):
        if value:
            text = text.replace(value, MASK)
    text = _URL.sub(lambda m: redact_url(m[0]), text)
    text = _BEARER.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    text = _KEY_LIKE.sub(lambda m: f"{m[1]}-{MASK}", text)
    return _PAIR.sub(_pair, text)
