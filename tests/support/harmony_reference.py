"""openai-harmony, the reference renderer, run offline: the exact count to compare against.

openai-harmony reads `o200k_base.tiktoken` from TIKTOKEN_ENCODINGS_BASE (else downloads it).
The file is rebuilt here from quicktok's bundled vocabulary; its SHA-256 equals the
published file's (checked), so the reference is the real encoding, offline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import openai_harmony as h
import quicktok
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.schemas import REASONING_KEY

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
"""SHA-256 of the published o200k_base.tiktoken (the hash openai-harmony and tiktoken pin)."""


def write_o200k_file(folder: Path) -> Path:
    """Write o200k_base.tiktoken from quicktok's data; fail if it is not the published file."""
    enc = quicktok.get_encoding("o200k_base")
    lines = []
    for rank in range(enc.max_token_value + 1):
        if enc.is_special_token(rank):
            continue
        try:
            token = enc.decode_single_token_bytes(rank)
        except KeyError:  # o200k leaves a few ids unused
            continue
        lines.append(base64.b64encode(token).decode() + f" {rank}\n")
    data = "".join(lines).encode()
    assert hashlib.sha256(data).hexdigest() == O200K_SHA256, "quicktok's o200k differs"
    path = folder / "o200k_base.tiktoken"
    path.write_bytes(data)
    return path


@lru_cache(maxsize=1)
def harmony_encoding(folder: str) -> Any:
    """openai-harmony's gpt-oss encoding, loaded from the rebuilt vocabulary file."""
    write_o200k_file(Path(folder))
    os.environ["TIKTOKEN_ENCODINGS_BASE"] = folder
    return h.load_harmony_encoding(h.HarmonyEncodingName.HARMONY_GPT_OSS)


def _assistant(message: AIMessage, keep_reasoning: bool) -> list[h.Message]:
    out = []
    reasoning = message.additional_kwargs.get(REASONING_KEY)
    if keep_reasoning and reasoning:
        out.append(
            h.Message.from_role_and_content(h.Role.ASSISTANT, reasoning).with_channel("analysis")
        )
    if not message.tool_calls:
        return [
            *out,
            h.Message.from_role_and_content(h.Role.ASSISTANT, message.text).with_channel("final"),
        ]
    if message.text:
        out.append(
            h.Message.from_role_and_content(h.Role.ASSISTANT, message.text).with_channel(
                "commentary"
            )
        )
    for call in message.tool_calls:
        out.append(
            h.Message.from_role_and_content(h.Role.ASSISTANT, json.dumps(call["args"]))
            .with_channel("commentary")
            .with_recipient(f"functions.{call['name']}")
            .with_content_type("<|constrain|>json")
        )
    return out


def reference_count(
    folder: str,
    messages: Sequence[BaseMessage],
    tools: Sequence[Mapping[str, Any]] = (),
    effort: str = "medium",
    today: str = "2026-11-28",
) -> int:
    """Tokens openai-harmony renders for a chat request, converted the way vLLM does."""
    enc = harmony_encoding(folder)
    system = (
        h.SystemContent.new()
        .with_reasoning_effort(h.ReasoningEffort(effort.capitalize()))
        .with_conversation_start_date(today)
    )
    convo = [h.Message.from_role_and_content(h.Role.SYSTEM, system)]
    developer = h.DeveloperContent.new()
    instructions = "\n\n".join(m.text for m in messages if m.type == "system")
    if instructions:
        developer = developer.with_instructions(instructions)
    if tools:
        specs = [t.get("function", t) for t in tools]
        descriptions = [
            h.ToolDescription.new(
                s["name"], s.get("description", ""), parameters=s.get("parameters")
            )
            for s in specs
        ]
        developer = developer.with_function_tools(descriptions)
    if instructions or tools:
        convo.append(h.Message.from_role_and_content(h.Role.DEVELOPER, developer))
    finals = [i for i, m in enumerate(messages) if isinstance(m, AIMessage) and not m.tool_calls]
    last_final = finals[-1] if finals else -1
    names = {c["id"]: c["name"] for m in messages for c in getattr(m, "tool_calls", None) or []}
    for index, message in enumerate(messages):
        if isinstance(message, HumanMessage):
            convo.append(h.Message.from_role_and_content(h.Role.USER, message.text))
        elif isinstance(message, AIMessage):
            convo += _assistant(message, index > last_final)
        elif isinstance(message, ToolMessage):
            name = message.name or names.get(message.tool_call_id, "tool")
            author = h.Author.new(h.Role.TOOL, f"functions.{name}")
            convo.append(
                h.Message.from_author_and_content(author, message.text)
                .with_channel("commentary")
                .with_recipient("assistant")
            )
    config = h.RenderConversationConfig(auto_drop_analysis=False)
    rendered = enc.render_conversation_for_completion(
        h.Conversation.from_messages(convo), h.Role.ASSISTANT, config
    )
    return len(rendered)
