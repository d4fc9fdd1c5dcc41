"""Token counting (o200k, gpt-oss's tokenizer) and the budget rules that end tool use.

tiktoken keeps `o200k_base` in its cache (TIKTOKEN_CACHE_DIR) once downloaded. Nothing here
downloads it (the product never phones home): when the cached file is absent, tokens are
approximated as UTF-8 bytes / 3.5, rounded up. That overestimates typical English o200k
counts (about 4.2 bytes per token) by roughly 20%, so a budget is hit early rather than late.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from langchain_core.messages import BaseMessage

from agent.settings import Context

log = logging.getLogger(__name__)

BYTES_PER_TOKEN = 3.5
LOAD_SECONDS = 5.0
MESSAGE_OVERHEAD = 4  # harmony framing per message: <|start|>role<|message|>...<|end|>
STEPS_FOR_LAST_TURN = 3  # call_model (this one) -> respond -> END, with a margin of one


O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def _cached_o200k_file() -> str | None:
    """Where tiktoken caches o200k_base, if a file is there (same rule as tiktoken.load)."""
    import hashlib
    import os
    import tempfile

    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    cache_dir = cache_dir or os.path.join(tempfile.gettempdir(), "data-gym-cache")
    path = os.path.join(cache_dir, hashlib.sha1(O200K_URL.encode()).hexdigest())
    return path if os.path.isfile(path) else None


def _load_o200k() -> Any:
    if _cached_o200k_file() is None:
        raise FileNotFoundError("o200k_base is not in tiktoken's cache (not downloaded here)")
    import tiktoken

    return tiktoken.get_encoding("o200k_base")


@lru_cache(maxsize=1)
def _encoder() -> Callable[[str], int] | None:
    # tiktoken's download has no timeout; a firewalled network must not stall a run.
    found: dict[str, Any] = {}

    def load() -> None:
        try:
            found["encoding"] = _load_o200k()
        except Exception as exc:  # any failure to fetch or read the file means: approximate
            found["error"] = exc

    worker = threading.Thread(target=load, name="o200k-load", daemon=True)
    worker.start()
    worker.join(LOAD_SECONDS)
    encoding = found.get("encoding")
    if encoding is None:
        reason = found.get("error", f"not loaded within {LOAD_SECONDS}s")
        log.info("o200k_base unavailable (%s); approximating tokens as bytes/3.5", reason)
        return None
    return lambda text: len(encoding.encode(text, disallowed_special=()))


def exact_counting() -> bool:
    """True when tokens are counted with tiktoken's o200k_base, False when approximated."""
    return _encoder() is not None


def count_tokens(text: str) -> int:
    """Tokens of a text in o200k_base, or the documented approximation when it is unavailable.

    Args:
        text: Any text.

    Returns:
        The token count (0 for an empty text).
    """
    if not text:
        return 0
    encode = _encoder()
    if encode is not None:
        return encode(text)
    return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)


def count_message_tokens(messages: Sequence[BaseMessage]) -> int:
    """Tokens a list of chat messages takes in the model's context, tool calls included.

    Args:
        messages: The messages as they will be sent.

    Returns:
        Estimated prompt tokens.
    """
    total = 0
    for message in messages:
        total += MESSAGE_OVERHEAD + count_tokens(message.text)
        for call in getattr(message, "tool_calls", None) or []:
            total += count_tokens(call["name"]) + count_tokens(str(call["args"]))
    return total


def spent_budget(
    *, context: Context, tool_calls: int, turns: int, context_tokens: int, remaining_steps: int
) -> str:
    """Which budget, if any, forbids tools on the model turn about to start.

    Args:
        context: The run's limits.
        tool_calls: Tool calls already requested in this run.
        turns: Model turns already made in this run.
        context_tokens: Tokens of the request about to be sent.
        remaining_steps: LangGraph supersteps left before its recursion limit.

    Returns:
        "" when tools are still allowed, else a short name of the spent budget.
    """
    if tool_calls >= context.max_tool_calls:
        return f"{context.max_tool_calls} tool calls"
    if turns + 1 >= context.max_turns:
        return f"{context.max_turns} model turns"
    if context_tokens >= context.max_context_tokens:
        return f"{context.max_context_tokens} context tokens"
    if remaining_steps <= STEPS_FOR_LAST_TURN + 2:
        return "graph steps"
    return ""
