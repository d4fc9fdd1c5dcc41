"""The private langchain-openai / langchain-core methods GptOssChat overrides or calls.

GptOssChat (agent/llm/chat.py) keeps reasoning, repairs output and retries by overriding
private methods of ChatOpenAI and BaseChatModel. A release that removes one or changes its
parameters would break that silently; this test fails first, naming the method.
"""

from __future__ import annotations

import inspect

import openai
import pytest
from langchain_openai import ChatOpenAI

from agent.llm.chat import GptOssChat
from agent.llm.wire.retries import AsyncRetryingOpenAI, RetryingOpenAI

# method -> the parameters (after self) the override relies on, in order
EXPECTED = {
    "_get_request_payload": ["input_", "stop", "kwargs"],
    "_create_chat_result": ["response", "generation_info"],
    "_convert_chunk_to_generation_chunk": ["chunk", "default_chunk_class", "base_generation_info"],
    "_generate": ["messages", "stop", "run_manager", "kwargs"],
    "_agenerate": ["messages", "stop", "run_manager", "kwargs"],
    "_stream": ["args", "kwargs"],
    "_astream": ["args", "kwargs"],
    "_generate_with_cache": ["messages", "stop", "run_manager", "kwargs"],
    "_agenerate_with_cache": ["messages", "stop", "run_manager", "kwargs"],
    "_convert_input": ["model_input"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_upstream_private_method_is_still_there(name: str) -> None:
    method = getattr(ChatOpenAI, name, None)
    assert method is not None, (
        f"ChatOpenAI.{name} is gone in this langchain-openai/langchain-core release; "
        f"GptOssChat relies on it (agent/llm/chat.py)"
    )
    params = [p for p in inspect.signature(method).parameters if p != "self"]
    assert params == EXPECTED[name], (
        f"ChatOpenAI.{name} now takes {params}, GptOssChat was written for "
        f"{EXPECTED[name]} (agent/llm/chat.py)"
    )


def test_every_private_override_is_checked() -> None:
    overrides = {
        name
        for name, value in vars(GptOssChat).items()
        if name.startswith("_")
        and not name.startswith("__")
        and callable(value)
        and hasattr(ChatOpenAI, name)
    }
    assert overrides <= set(EXPECTED), f"add {sorted(overrides - set(EXPECTED))} to EXPECTED"


# openai client methods agent/llm/wire/retries.py replaces -> the parameters it relies on
CLIENT_EXPECTED = {
    "_should_retry": ["response"],
    "_calculate_retry_timeout": ["remaining_retries", "options", "response_headers"],
    "request": ["cast_to", "options", "stream", "stream_cls"],
}


@pytest.mark.parametrize("client", [openai.OpenAI, openai.AsyncOpenAI])
@pytest.mark.parametrize("name", sorted(CLIENT_EXPECTED))
def test_openai_client_method_is_still_there(client: type, name: str) -> None:
    method = getattr(client, name, None)
    assert method is not None, f"{client.__name__}.{name} is gone (agent/llm/wire/retries.py)"
    params = [p for p in inspect.signature(method).parameters if p != "self"]
    assert params == CLIENT_EXPECTED[name], (
        f"{client.__name__}.{name} now takes {params} (agent/llm/wire/retries.py)"
    )


def test_every_client_override_is_checked() -> None:
    for ours in (RetryingOpenAI, AsyncRetryingOpenAI):
        overrides = {
            name
            for cls in ours.__mro__
            if cls.__module__ == ours.__module__
            for name, value in vars(cls).items()
            if callable(value) and not name.startswith("__")
        }
        assert overrides == set(CLIENT_EXPECTED), sorted(overrides ^ set(CLIENT_EXPECTED))
