"""One streamed model turn, repaired as it arrives (used by GptOssChat._stream/_astream).

Each server chunk is passed on with only the answer text that can no longer change
(agent.llm.repair.harmony.ContentStream) and the reasoning (the server's reasoning field and
analysis-channel text found in the content). Tool calls, native or written into the
content, are held back and sent in the turn's last chunk, after the same repair a
non-streamed turn gets (agent.llm.repair.message.repair_message), so both paths agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, cast

from langchain_core.messages import AIMessage, AIMessageChunk, InvalidToolCall
from langchain_core.outputs import ChatGenerationChunk

from agent.llm.repair.harmony import ContentStream
from agent.llm.repair.message import repair_message
from agent.llm.repair.reply_shape import UnreadableReply
from agent.schemas import REASONING_KEY

REASONING_FINAL_KEY = "turn_reasoning"
"""additional_kwargs key: the reasoning of the attempt that succeeded (a retried attempt's
reasoning was already streamed; the merged message keeps only this)."""
INVALID_KEY = "invalid_calls"
"""additional_kwargs key carrying a streamed turn's unreadable calls to the merged message."""


class TurnStream:
    """Repairs one streamed turn chunk by chunk."""

    def __init__(self, schemas: Mapping[str, Mapping[str, Any]]) -> None:
        self.schemas = schemas
        self.content = ContentStream()
        self.reasoning: list[str] = []
        self.calls: dict[int, dict[str, str]] = {}
        self.shown = False
        """True once answer text went out: a retry would repeat it."""
        self.finished = False
        """True once a chunk carried a finish_reason: the server ended the reply itself."""

    def chunk(self, generation: ChatGenerationChunk) -> ChatGenerationChunk:
        """The chunk to pass on for one server chunk."""
        message = generation.message
        info = generation.generation_info or {}
        self.finished = self.finished or bool(
            info.get("finish_reason") or message.response_metadata.get("finish_reason")
        )
        text = message.content if isinstance(message.content, str) else message.text
        answer, leaked = self.content.feed(text)
        for call in getattr(message, "tool_call_chunks", None) or []:
            index = call.get("index")
            slot = self.calls.setdefault(
                len(self.calls) if index is None else index, {"id": "", "name": "", "args": ""}
            )
            slot["id"] = slot["id"] or (call.get("id") or "")
            slot["name"] += call.get("name") or ""
            slot["args"] += call.get("args") or ""
        reasoning = str(message.additional_kwargs.get(REASONING_KEY) or "") + leaked
        self.reasoning.append(reasoning)
        self.shown = self.shown or bool(answer)
        out = AIMessageChunk(
            content=answer,
            additional_kwargs={REASONING_KEY: reasoning} if reasoning else {},
            response_metadata=dict(message.response_metadata),
            usage_metadata=getattr(message, "usage_metadata", None),
            id=message.id,
        )
        return ChatGenerationChunk(message=out, generation_info=generation.generation_info)

    def finish(self) -> ChatGenerationChunk:
        """The turn's last chunk: the rest of the repaired answer and the repaired calls.

        Raises:
            UnreadableReply: The stream ended without a finish reason: the server closed it
                mid-reply, so what came is a fragment, never an answer.
        """
        if not self.finished:
            raise UnreadableReply("the stream ended before the reply finished (no finish_reason)")
        raw = AIMessage(
            content=self.content.raw,
            invalid_tool_calls=[
                InvalidToolCall(
                    type="invalid_tool_call",
                    name=c["name"],
                    args=c["args"],
                    id=c["id"] or None,
                    error=None,
                )
                for _, c in sorted(self.calls.items())
            ],
            additional_kwargs={REASONING_KEY: "".join(self.reasoning)},
        )
        repaired = repair_message(raw, schemas=self.schemas)
        extra: dict[str, Any] = {REASONING_FINAL_KEY: "".join(self.reasoning)}
        if repaired.invalid_tool_calls:
            extra[INVALID_KEY] = [dict(c) for c in repaired.invalid_tool_calls]
        for key in ("repairs",):
            if repaired.additional_kwargs.get(key):
                extra[key] = repaired.additional_kwargs[key]
        tail = self.content.tail(str(repaired.content))
        message = AIMessageChunk(
            content=tail,
            additional_kwargs=extra,
            tool_call_chunks=[
                {
                    "type": "tool_call_chunk",
                    "name": call["name"],
                    "args": json.dumps(call["args"]),
                    "id": call["id"],
                    "index": index,
                }
                for index, call in enumerate(repaired.tool_calls)
            ],
        )
        return ChatGenerationChunk(message=message)


def merge_invalid(message: AIMessage) -> AIMessage:
    """Move a streamed turn's unreadable calls from additional_kwargs to invalid_tool_calls."""
    extra = dict(message.additional_kwargs)
    if REASONING_FINAL_KEY in extra:
        extra[REASONING_KEY] = extra.pop(REASONING_FINAL_KEY)
        if not extra[REASONING_KEY]:
            del extra[REASONING_KEY]
    carried = extra.pop(INVALID_KEY, None) or []
    if extra == message.additional_kwargs:
        return message
    invalid = [*message.invalid_tool_calls, *cast("list[InvalidToolCall]", carried)]
    return message.model_copy(update={"additional_kwargs": extra, "invalid_tool_calls": invalid})
