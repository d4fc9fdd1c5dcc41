"""The gpt-oss chat model: ChatOpenAI plus reasoning, repairs, effort and retries.

This is the only place a chat client is built (`build_chat_model`). Each override of a
ChatOpenAI method is small and delegates the real work to pure helpers in
agent/llm/wire/protocol.py (requests, errors) and agent/llm/repair/message.py (what servers
get wrong).
Reasoning is stored in `additional_kwargs["reasoning_content"]` and never printed.
Repairs and the empty-message retry apply to finished turns (`invoke`/`ainvoke`, also
when they stream underneath); raw `stream()` chunks only carry the captured reasoning.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any, Literal

import httpx
import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import PrivateAttr, SecretStr

from agent.llm.repair.message import CUT_KEY, is_empty, repair_message
from agent.llm.repair.reply_shape import UnreadableReply
from agent.llm.repair.stream_turn import TurnStream, merge_invalid
from agent.llm.servers.providers import ServerConfig, resolve_server
from agent.llm.wire.deadline import check_run
from agent.llm.wire.protocol import (
    apply_effort,
    attach_reasoning,
    broken_stream_message,
    completion_from_sse,
    failure_message,
    force_reasoning,
    reasoning_of,
    verdict,
)
from agent.llm.wire.retries import AsyncRetryingOpenAI, RetryingOpenAI, client_attempts
from agent.llm.wire.transport import AsyncShapeTransport, ShapeTransport
from agent.schemas import REASONING_KEY
from agent.settings import Settings
from tools import retry
from tools.errors import ModelServerError

# What a request can fail with on the wire; anything else is a bug and propagates.
_WIRE_ERRORS = (openai.APIError, httpx.HTTPError, json.JSONDecodeError, UnreadableReply)


class GptOssChat(ChatOpenAI):
    """ChatOpenAI for gpt-oss behind vLLM, Ollama, LM Studio, llama.cpp or OpenRouter."""

    server_label: str = "OpenAI-compatible"
    """Server kind named in error messages ("Is the vLLM server running at ...?")."""
    reasoning_field: Literal["reasoning_content", "reasoning"] = "reasoning"
    """Field that carries reasoning back to the server on tool-call turns."""
    effort: str | None = None
    """gpt-oss reasoning effort: low, medium or high."""
    effort_in: Literal["param", "system", "both"] = "param"
    """How the server takes effort: `reasoning_effort`, a system line, or both."""
    retries: int = 3
    """Retries of faults the openai client does not retry (tool_use_failed, an unreadable
    reply, a stream broken before any answer); the client's own max_retries is the same."""
    retry_backoff: float = 0.5
    """First backoff in seconds; doubled on each retry."""
    retry_wait_cap: float = 30.0
    """Longest wait between attempts, also for a server's Retry-After."""
    _reasoning_forced: bool = PrivateAttr(default=False)

    def _get_request_payload(
        self, input_: LanguageModelInput, *, stop: list[str] | None = None, **kwargs: Any
    ) -> dict:
        payload = super()._get_request_payload(input_, stop=stop, **kwargs)
        if "messages" in payload:
            history = self._convert_input(input_).to_messages()
            attach_reasoning(history, payload["messages"], self.reasoning_field)
        apply_effort(payload, self.effort, self.effort_in)
        if self._reasoning_forced:
            force_reasoning(payload, self.effort)
        return payload

    def _create_chat_result(
        self, response: dict | openai.BaseModel, generation_info: dict | None = None
    ) -> ChatResult:
        if isinstance(response, str):  # openai's parse() gives text for a non-JSON body
            if (body := completion_from_sse(response)) is not None:
                return self._create_chat_result(body, generation_info)
            error = ValueError(f"{response[:80]!r}")
            raise ModelServerError(failure_message(error, self.server_label, self._url, 1))
        result = super()._create_chat_result(response, generation_info)
        raw = response if isinstance(response, dict) else response.model_dump()
        for generation, choice in zip(result.generations, raw.get("choices") or [], strict=False):
            if text := reasoning_of(choice.get("message") or {}):
                generation.message.additional_kwargs[REASONING_KEY] = text
        return result

    def _convert_chunk_to_generation_chunk(
        self, chunk: dict, default_chunk_class: type, base_generation_info: dict | None
    ) -> ChatGenerationChunk | None:
        generation = super()._convert_chunk_to_generation_chunk(
            chunk, default_chunk_class, base_generation_info
        )
        choices = chunk.get("choices") or []
        delta = choices[0].get("delta") if choices else None
        if generation is not None and delta and (text := reasoning_of(delta)):
            generation.message.additional_kwargs[REASONING_KEY] = text
        return generation

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        parent = partial(super()._generate, messages, stop=stop, run_manager=run_manager, **kwargs)
        return retry.call(parent, self._wait_or_raise, _WIRE_ERRORS)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        parent = partial(super()._agenerate, messages, stop=stop, run_manager=run_manager, **kwargs)
        return await retry.acall(parent, self._wait_or_raise, _WIRE_ERRORS)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # Chunks go out repaired (TurnStream): answer text once it can no longer change,
        # reasoning as it comes, tool calls in the last chunk. A failure before any answer
        # text went out (Groq's in-stream tool_use_failed) is retried.
        parent = super()._stream
        turns: list[TurnStream] = []

        def attempt() -> Iterator[ChatGenerationChunk]:
            turns.append(turn := TurnStream(_schemas(kwargs)))
            for chunk in parent(messages, stop, None, **kwargs):
                out = turn.chunk(chunk)
                if run_manager:
                    run_manager.on_llm_new_token(out.text, chunk=out)
                yield out
            yield turn.finish()

        def on_error(exc: BaseException, attempt: int) -> float:
            return self._stream_wait_or_raise(exc, attempt, turns[-1].shown)

        yield from retry.each(attempt, on_error, _WIRE_ERRORS)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        parent = super()._astream
        turns: list[TurnStream] = []

        async def attempt() -> AsyncIterator[ChatGenerationChunk]:
            turns.append(turn := TurnStream(_schemas(kwargs)))
            async for chunk in parent(messages, stop, None, **kwargs):
                out = turn.chunk(chunk)
                if run_manager:
                    await run_manager.on_llm_new_token(out.text, chunk=out)
                yield out
            yield turn.finish()

        def on_error(exc: BaseException, attempt: int) -> float:
            return self._stream_wait_or_raise(exc, attempt, turns[-1].shown)

        async for chunk in retry.aeach(attempt, on_error, _WIRE_ERRORS):
            yield chunk

    def _generate_with_cache(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Repairs and the empty-turn retry act on the finished turn, streamed or not.
        for _ in range(2):
            check_run()
            raw = super()._generate_with_cache(messages, stop, run_manager, **kwargs)
            if not _empty(result := self._repaired(raw, kwargs)):
                return result
        raise ModelServerError(self._empty_message())

    async def _agenerate_with_cache(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        for _ in range(2):
            check_run()
            raw = await super()._agenerate_with_cache(messages, stop, run_manager, **kwargs)
            if not _empty(result := self._repaired(raw, kwargs)):
                return result
        raise ModelServerError(self._empty_message())

    @property
    def _url(self) -> str:
        return str(self.openai_api_base or "the configured URL")

    def _repaired(self, result: ChatResult, kwargs: dict[str, Any]) -> ChatResult:
        generations = [
            ChatGeneration(
                message=_repair(g.message, _schemas(kwargs), g.generation_info),
                generation_info=g.generation_info,
            )
            if isinstance(g.message, AIMessage)
            else g
            for g in result.generations
        ]
        return ChatResult(generations=generations, llm_output=result.llm_output)

    def _wait_or_raise(self, exc: BaseException, attempt: int) -> float:
        """Seconds to wait before the next attempt; raises when we should give up.

        A fault the openai client already retried (a status or connection error it raised)
        is not retried again here; its attempts count in the message.
        """
        kind = verdict(exc)
        if kind == "reasoning_mandatory" and not self._reasoning_forced:
            self._reasoning_forced = True  # remembered: this upstream always wants it
            return 0.0
        by_client = client_attempts(exc)
        ours = kind == "tool_use_failed" or (kind == "retry" and by_client is None)
        wait = self._policy().wait(exc, attempt) if ours else None
        check_run(wait or 0.0)  # the run's time is spent: its own error, whatever failed
        if wait is not None:
            return wait
        tries = attempt + (by_client or 1)
        raise ModelServerError(failure_message(exc, self.server_label, self._url, tries))

    def _policy(self) -> retry.RetryPolicy:
        return retry.RetryPolicy(self.retries, self.retry_backoff, self.retry_wait_cap)

    def _stream_wait_or_raise(self, exc: BaseException, attempt: int, shown: bool) -> float:
        check_run()
        if shown:  # part of the answer is already out; a retry would repeat it
            raise ModelServerError(broken_stream_message(exc, self.server_label, self._url))
        return self._wait_or_raise(exc, attempt)

    def _empty_message(self) -> str:
        return (
            f"The {self.server_label} server at {self._url} twice returned an empty message "
            f"(no text, no tool call). Check that {self.model_name} is loaded and that the "
            "server's gpt-oss reasoning and tool parsers are on."
        )


def _schemas(kwargs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Tool name -> JSON schema of its parameters, for the tools bound to this request."""
    found: dict[str, dict[str, Any]] = {}
    for tool in kwargs.get("tools") or []:
        function = tool.get("function") or {}
        if function.get("name"):
            found[function["name"]] = function.get("parameters") or {}
    return found


def _repair(
    message: AIMessage, schemas: dict[str, dict[str, Any]], info: dict[str, Any] | None
) -> AIMessage:
    """The repaired turn; a turn stopped by the output cap is marked as cut off."""
    repaired = repair_message(merge_invalid(message), schemas=schemas)
    finish = (info or {}).get("finish_reason") or message.response_metadata.get("finish_reason")
    if finish == "length":
        extra = {**repaired.additional_kwargs, CUT_KEY: True}
        repaired = repaired.model_copy(update={"additional_kwargs": extra})
    return repaired


def _empty(result: ChatResult) -> bool:
    message = result.generations[0].message if result.generations else None
    return isinstance(message, AIMessage) and is_empty(message)


def build_chat_model(
    settings: Settings,
    server: ServerConfig | None = None,
    *,
    retry_backoff: float = 0.5,
    retry_wait_cap: float = 30.0,
) -> GptOssChat:
    """Build the chat model for the configured gpt-oss server.

    Args:
        settings: Effort, request_timeout and max_retries are read; the server comes
            from `server` or `resolve_server(settings)`.
        server: An already resolved server (skips probing).
        retry_backoff: First backoff in seconds (tests make it tiny).
        retry_wait_cap: Longest wait between attempts, Retry-After included.

    Returns:
        The chat model. It talks to the server only when invoked.

    Raises:
        ModelServerError: No server is configured and none answers locally.
    """
    server = server or resolve_server(settings)
    if server is None:
        raise ModelServerError(
            "No gpt-oss server is set and none answers on localhost. Start vLLM, Ollama, "
            "LM Studio or llama.cpp, or pass --provider/--base-url (or --provider offline)."
        )
    timeout = settings.request_timeout
    policy = retry.RetryPolicy(settings.max_retries, retry_backoff, retry_wait_cap)
    # openai's client retries transport faults with our policy (agent/llm/wire/retries.py);
    # each reply is converted to the shape asked for (SSE to "stream": false and back)
    shared: dict[str, Any] = {
        "api_key": server.api_key,
        "base_url": server.base_url,
        "timeout": timeout,
        "max_retries": settings.max_retries,
    }
    client = RetryingOpenAI(
        policy,
        http_client=httpx.Client(transport=ShapeTransport(timeout), timeout=timeout),
        **shared,
    )
    async_client = AsyncRetryingOpenAI(
        policy,
        http_client=httpx.AsyncClient(transport=AsyncShapeTransport(timeout), timeout=timeout),
        **shared,
    )
    return GptOssChat(
        model=server.model,
        base_url=server.base_url,
        api_key=SecretStr(server.api_key),
        timeout=timeout,
        max_tokens=settings.output_cap(),
        root_client=client,
        client=client.chat.completions,
        root_async_client=async_client,
        async_client=async_client.chat.completions,
        stream_chunk_timeout=timeout,
        max_retries=settings.max_retries,
        retries=settings.max_retries,
        retry_backoff=retry_backoff,
        retry_wait_cap=retry_wait_cap,
        reasoning_field=server.preset.reasoning_field,
        effort=settings.effort,
        effort_in=server.preset.effort_in,
        server_label=server.preset.label,
        use_responses_api=False,
    )
