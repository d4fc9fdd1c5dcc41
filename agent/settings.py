"""One typed settings object: environment (RESEARCH_AGENT_*), an optional .env, then CLI flags."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

Provider = Literal["vllm", "ollama", "lmstudio", "llamacpp", "openrouter", "openai", "offline"]
Effort = Literal["low", "medium", "high"]
MAX_K = 20
"""The most hits one milvus_search call returns (the tool refuses more)."""


class Settings(BaseSettings):
    """Everything a user can configure. Field descriptions are the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="RESEARCH_AGENT_", env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Field(
        Path(".research-agent"),
        description="Project-local folder for the Milvus Lite file and chat checkpoints.",
    )
    milvus_uri: str = Field(
        "",
        description="Milvus URI: a Lite file path, or http://host:19530 / a Zilliz Cloud endpoint. "
        "Empty means <data_dir>/milvus.db.",
    )
    milvus_token: SecretStr | None = Field(
        None, description="Token for a Milvus server or Zilliz Cloud (user:password or API key)."
    )
    collection: str = Field("research_agent", description="Milvus collection holding the chunks.")
    embedder: Literal["minilm", "openai"] = Field(
        "minilm",
        description="minilm: all-MiniLM-L6-v2 int8 ONNX, offline, 384-d. "
        "openai: an OpenAI-compatible /v1/embeddings endpoint.",
    )
    embedding_base_url: str = Field(
        "http://localhost:11434/v1",
        description="Base URL of the embeddings endpoint (embedder=openai).",
    )
    embedding_model: str = Field(
        "nomic-embed-text", description="Embedding model name at that endpoint (embedder=openai)."
    )
    embedding_api_key: SecretStr | None = Field(
        None, description="API key for the embeddings endpoint, if it needs one."
    )
    chunk_tokens: int = Field(
        200,
        ge=32,
        le=250,
        description="Target chunk size in embedder tokens; kept under MiniLM's 256-token window.",
    )
    provider: Provider | None = Field(
        None,
        description="gpt-oss server preset. Unset: use base_url if given, else probe local "
        "presets, else the offline policy.",
    )
    base_url: str | None = Field(None, description="Any OpenAI-compatible chat server URL.")
    model: str | None = Field(
        None, description="Model name on that server (preset default if unset)."
    )
    api_key: SecretStr | None = Field(
        None, description="API key for the chat server (else the provider's usual variable)."
    )
    effort: Effort = Field("medium", description="gpt-oss reasoning effort.")
    k: int = Field(5, ge=1, le=MAX_K, description="Hits per milvus_search call.")
    max_tool_calls: int = Field(12, ge=1, description="Tool-call budget per question.")
    max_turns: int = Field(8, ge=1, description="Model-turn budget per question.")
    max_context_tokens: int = Field(
        24000, ge=2000, description="Context budget (o200k tokens) before tools are taken away."
    )
    request_timeout: float = Field(120.0, gt=0, description="Seconds per model request.")
    max_retries: int = Field(3, ge=0, le=10, description="Retries for connection errors, 429, 5xx.")

    def resolved_milvus_uri(self) -> str:
        """The Milvus URI, defaulting to a Lite file in the data folder."""
        return self.milvus_uri or str(self.data_dir / "milvus.db")

    def is_lite(self) -> bool:
        """True when the URI is a local Milvus Lite file rather than a server."""
        uri = self.resolved_milvus_uri()
        return not uri.startswith(("http://", "https://", "tcp://", "grpc://"))


def _meta(description: str) -> dict[str, str]:
    return {"description": description}


@dataclass(kw_only=True)
class Context:
    """Runtime configuration of one research run (LangGraph's context_schema).

    LangGraph Studio renders these fields as a form. Fields left at their default are
    filled from Settings (environment, .env), converted to the field's type.
    """

    provider: str = field(
        default="",
        metadata=_meta(
            "gpt-oss server preset: vllm, ollama, lmstudio, llamacpp, openrouter, openai or "
            "offline. Empty: base_url if set, else probe local servers, else offline."
        ),
    )
    model: str = field(
        default="", metadata=_meta("Model name on the server (empty: the preset's default).")
    )
    base_url: str = field(
        default="", metadata=_meta("OpenAI-compatible base URL (empty: the preset's default).")
    )
    effort: str = field(default="medium", metadata=_meta("Reasoning effort: low, medium or high."))
    k: int = field(default=5, metadata=_meta("Hits per milvus_search call."))
    max_tool_calls: int = field(
        default=12, metadata=_meta("Tool calls allowed before the model must answer.")
    )
    max_turns: int = field(
        default=8, metadata=_meta("Model turns allowed before the model must answer.")
    )
    max_context_tokens: int = field(
        default=24000,
        metadata=_meta("Context tokens (o200k) allowed before the model must answer."),
    )
    milvus_uri: str = field(
        default="", metadata=_meta("Milvus URI (empty: the Lite file in the data folder).")
    )
    collection: str = field(
        default="research_agent", metadata=_meta("Milvus collection to search.")
    )

    def __post_init__(self) -> None:
        settings = Settings()
        for f in fields(self):
            if getattr(self, f.name) == f.default and hasattr(settings, f.name):
                value = getattr(settings, f.name)
                if value is None:
                    continue
                kind: type = type(f.default)
                setattr(self, f.name, kind(value))
        if not self.milvus_uri:
            self.milvus_uri = settings.resolved_milvus_uri()

    def settings(self) -> Settings:
        """A Settings object with this context's values on top of the environment."""
        return Settings(
            provider=self.provider or None,
            model=self.model or None,
            base_url=self.base_url or None,
            effort=self.effort,
            k=self.k,
            max_tool_calls=self.max_tool_calls,
            max_turns=self.max_turns,
            max_context_tokens=self.max_context_tokens,
            milvus_uri=self.milvus_uri,
            collection=self.collection,
        )
