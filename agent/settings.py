"""The one configuration model: CLI flags, Python keyword arguments, Studio's form, env.

`Context` declares the options of one research run (the graph's context schema, so
LangGraph Studio renders it as a form); `Settings` adds the rest and reads the
environment (RESEARCH_AGENT_*) and `.env`. Each field is declared once, with its type,
bounds and description. Precedence, field by field: a value given explicitly (a flag, a
keyword argument, a Studio/SDK context field) > the environment > `.env` > the default,
whether or not the given value equals the default (`Context.settings()` passes on only
the fields that were given). Every boundary validates once: a bad value is a ConfigError
naming the field, the value and what is allowed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tools.errors import ConfigError
from tools.redact import MASK, is_secret_name, redact_text
from tools.schemas import MAX_K

Provider = Literal["vllm", "ollama", "lmstudio", "llamacpp", "openrouter", "openai", "offline"]
Effort = Literal["low", "medium", "high"]
COLLECTION_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,254}$"
"""Milvus collection names: a letter or underscore, then letters, digits, underscores."""
ENV_FILE_VARIABLE = "RESEARCH_AGENT_ENV_FILE"
"""Names the .env file to read (default: .env in the current folder; empty: none)."""
FLAGS = {
    "collection": "--collection",
    "milvus_uri": "--milvus-uri",
    "provider": "--provider",
    "base_url": "--base-url",
    "model": "--model",
    "effort": "--effort",
    "k": "--k",
    "max_tool_calls": "--max-tool-calls",
    "max_turns": "--max-turns",
    "max_context_tokens": "--max-context-tokens",
    "max_branches": "--max-branches",
    "report_tool_calls": "--report-tool-calls",
    "report_tokens": "--report-tokens",
}
"""The command-line flag of each setting that has one (named in error messages)."""


SHOWN_VALUE_CHARS = 80
"""An invalid value is quoted in the error up to this many characters (then '...')."""


def shown_value(name: str, value: object) -> str:
    """An invalid value as an error line quotes it: secrets masked, long values cut."""
    if is_secret_name(name):
        return repr(MASK)
    text = redact_text(repr(value))
    if len(text) > SHOWN_VALUE_CHARS:
        return text[: SHOWN_VALUE_CHARS - 3] + "..."
    return text


def problem(exc: ValidationError) -> str:
    """One line naming each bad field, the value given, what is allowed and where to set it."""
    parts = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"]) or "?"
        if err["type"] == "extra_forbidden":
            valid = ", ".join(sorted(Context.model_fields))
            parts.append(f"{name} is not a run option (valid: {valid})")
            continue
        where = [f"RESEARCH_AGENT_{name.upper()}"]
        if name in FLAGS:
            where.insert(0, FLAGS[name])
        allowed = err["msg"].removeprefix("Value error, ")
        value = shown_value(name, err.get("input"))
        parts.append(f"{name}={value}: {allowed} (set with {' or '.join(where)})")
    return "invalid setting " + "; ".join(parts) + "."


OUTPUT_CAPS = {"low": 4096, "medium": 8192, "high": 16384}
"""Default output cap per reasoning effort: reasoning plus answer of one turn fit it."""


class Context(BaseModel):
    """Options of one research run: LangGraph's context_schema, API keywords, CLI flags.

    Fields left out take their value from the environment, `.env`, then the default;
    `settings()` resolves them. Reading a field directly gives only what was given (or
    the built-in default), so nodes and tools read `settings()`.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True, frozen=True)

    provider: Provider | None = Field(
        None,
        description="gpt-oss server preset. Empty: use base_url if set, else probe local "
        "servers (vLLM, Ollama, LM Studio, llama.cpp), else the offline policy.",
    )
    base_url: str | None = Field(
        None,
        description="Any OpenAI-compatible chat server URL, e.g. http://localhost:8000/v1 "
        "(empty: the preset's).",
    )
    model: str | None = Field(
        None, description="Model name on the server (empty: the preset's default)."
    )
    effort: Effort = Field("medium", description="gpt-oss reasoning effort: low, medium or high.")
    k: int = Field(5, ge=1, le=MAX_K, description=f"Hits per milvus_search call, 1 to {MAX_K}.")
    max_tool_calls: int = Field(
        12, ge=1, le=200, description="Tool calls allowed before the model must answer."
    )
    max_turns: int = Field(
        8, ge=2, le=100, description="Model turns allowed (the last one answers without tools)."
    )
    max_context_tokens: int = Field(
        24000,
        ge=2000,
        le=1_000_000,
        description="Context budget (o200k tokens of the request) before tools are taken away.",
    )
    milvus_uri: str = Field(
        "",
        description="Milvus URI: a Lite file path, or http://host:19530 / a Zilliz Cloud "
        "endpoint. Empty: <data_dir>/milvus.db.",
    )
    collection: str = Field(
        "research_agent",
        description="Milvus collection holding the chunks (letters, digits, underscores).",
    )
    # The run's total token budget (a report gives each branch its share through it).
    max_run_tokens: int = Field(
        0,
        ge=0,
        le=100_000_000,
        description="Prompt tokens the run may send in all, counted exactly before each "
        "request (0: no limit); tools are taken away while two more requests would not fit.",
    )

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^\s/?#]+", value):
            raise ValueError("must be an http:// or https:// URL such as http://localhost:8000/v1")
        return value or None

    @field_validator("collection")
    @classmethod
    def _collection(cls, value: str) -> str:
        if not re.match(COLLECTION_NAME, value):
            raise ValueError(
                "must start with a letter or underscore and hold only letters, digits and "
                "underscores (at most 255)"
            )
        return value

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:  # one line for users, in every front end
            raise ConfigError(problem(exc)) from None

    def settings(self) -> Settings:
        """The full settings of this run: given fields on top of the environment and .env."""
        return resolve(self)


def _plain(value: str | SecretStr) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


# Research reports (graphs/report.py): the report's own options, on top of a run's.
class ReportContext(Context):
    """Options of one report run: those of a research run, plus the report's own."""

    max_branches: int = Field(
        5, ge=2, le=8, description="Sub-questions researched in parallel, at most (2-8)."
    )
    report_tool_calls: int = Field(
        30,
        ge=2,
        le=400,
        description="Tool calls for the whole report, shared equally by its branches.",
    )
    report_tokens: int = Field(
        400_000,
        ge=5_000,
        le=100_000_000,
        description="Prompt tokens for the whole report (plan, branches, sections), counted "
        "exactly: each branch gets an equal share, the writer one share plus what the "
        "branches left.",
    )
    unverified: Literal["drop", "mark"] = Field(
        "drop",
        description="A report sentence without a verified citation: drop it, or mark it "
        "[unverified]; counted either way.",
    )


def _env_file() -> str | None:
    chosen = os.environ.get(ENV_FILE_VARIABLE)
    if chosen is None:
        return ".env"
    return chosen or None


class Settings(BaseSettings, ReportContext):
    """Everything a user can configure. Field descriptions are the README's settings table."""

    model_config = SettingsConfigDict(
        env_prefix="RESEARCH_AGENT_",
        env_file=".env",
        extra="ignore",
        validate_default=True,
        frozen=True,
    )

    data_dir: Path = Field(
        Path(".research-agent"),
        description="Project-local folder for the Milvus Lite file and chat checkpoints.",
    )
    checkpoint_uri: str = Field(
        "",
        description="Where chat threads are kept: empty for <data_dir>/checkpoints.sqlite, or "
        "postgresql://user:pass@host:5432/db (needs `pip install research-agent[postgres]`).",
    )
    thread_wait: float = Field(
        600.0,
        ge=0,
        le=86_400,
        description="Seconds a run waits for another run on the same thread to end before "
        "it gives up with one line (0: fail at once, like --no-wait).",
    )
    milvus_token: SecretStr | None = Field(
        None, description="Token for a Milvus server or Zilliz Cloud (user:password or API key)."
    )
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
    embedding_concurrency: int = Field(
        8,
        ge=1,
        le=64,
        description="Embedding requests (of 64 texts) in flight at once (embedder=openai); "
        "a server busy with fewer queues the rest.",
    )
    chunk_tokens: int = Field(
        200,
        ge=32,
        le=250,
        description="Target chunk size in embedder tokens; kept under MiniLM's 256-token window.",
    )
    api_key: SecretStr | None = Field(
        None, description="API key for the chat server (else the provider's usual variable)."
    )
    request_timeout: float = Field(
        120.0,
        gt=0,
        description="Seconds per model request, from connecting to the reply's last byte "
        "(keep-alive comments and trickled bytes do not extend it).",
    )
    max_output_tokens: int = Field(
        0,
        ge=0,
        le=131_072,
        description="Output cap per model turn (`max_tokens` of every request). 0: by effort, "
        "low 4096, medium 8192, high 16384. A turn cut by it ends `cut_off`.",
    )
    max_retries: int = Field(
        3,
        ge=0,
        le=10,
        description="Retries for connection errors, 429, 5xx (chat server, embeddings endpoint).",
    )
    run_timeout: float = Field(
        900.0,
        gt=0,
        description="Seconds one run (question) may spend on model requests, retries included; "
        "then it ends with one error line and a thread can be resumed.",
    )

    # -- ingest limits: what one file may cost, and which files an ingest follows --------
    max_file_mb: float = Field(
        200.0,
        ge=0,
        description="Files larger than this (MB) are skipped with the reason; 0: no limit "
        "(`ingest --max-file-mb 0`). Text files stream in bounded memory at any size.",
    )
    max_pdf_pages: int = Field(
        2000, ge=0, description="PDFs with more pages are skipped with the reason; 0: no limit."
    )
    max_extracted_chars: int = Field(
        20_000_000,
        ge=0,
        description="Files (PDF, HTML) whose extracted text is longer are skipped; 0: no limit.",
    )
    extract_seconds: float = Field(
        30.0,
        gt=0,
        description="Seconds a PDF's text extraction may take (in a child process, killed "
        "past it); a slower file is skipped with the reason.",
    )
    ingest_symlinks: Literal["inside", "never"] = Field(
        "inside",
        description="Symlinked files in an ingested folder: inside: followed only when the "
        "real file lies inside that folder; never: skipped. Symlinked folders: never followed.",
    )

    # Server doors and secrets (issues 15.5, 16.4): read from the environment only, never
    # from a run's context, so a client of the LangGraph server cannot widen them.
    ingest_roots: str = Field(
        "",
        description="Folders the LangGraph server's ingest graph may read, separated by "
        f"'{os.pathsep}'. Empty: the server refuses ingest requests (the CLI's `ingest` "
        "is not limited).",
    )
    server_token: SecretStr | None = Field(
        None,
        description="Bearer token a LangGraph server with agent/server_auth.py requires of "
        "every request (docs/deployment.md). Unset there: every request is refused.",
    )

    @field_validator("api_key", "embedding_api_key", "milvus_token", "server_token", mode="before")
    @classmethod
    def _empty_secret(cls, value: object) -> object:
        """`RESEARCH_AGENT_API_KEY=` (empty) means no key, not a key that is empty."""
        return (
            None if isinstance(value, str | SecretStr) and not str(_plain(value)).strip() else value
        )

    def allowed_ingest_roots(self) -> list[Path]:
        """The resolved folders of `ingest_roots` (symlinks followed), in the order given."""
        return [
            Path(p).expanduser().resolve() for p in self.ingest_roots.split(os.pathsep) if p.strip()
        ]

    # Retrieval: hybrid fusion and the optional reranker (README, Tools).
    fusion: Literal["minmax", "rrf"] = Field(
        "minmax",
        description="Hybrid fusion: minmax (weighted sum of min-max-scaled dense and BM25 "
        "scores) or rrf (reciprocal rank fusion, k=60).",
    )
    fusion_dense_weight: float = Field(
        0.7, ge=0, le=1, description="minmax fusion: weight of the dense side; BM25 gets the rest."
    )
    rerank_url: str = Field(
        "",
        description="A /rerank endpoint (TEI, vLLM, Infinity, llama.cpp) that reorders hybrid "
        "candidates; empty: no reranker.",
    )
    rerank_model: str = Field("", description="Model name sent to the rerank endpoint, if any.")
    rerank_api_key: SecretStr | None = Field(
        None, description="Bearer token for the rerank endpoint, if it needs one."
    )
    rerank_timeout: float = Field(10.0, gt=0, description="Seconds per rerank request.")

    @field_validator("checkpoint_uri")
    @classmethod
    def _checkpoint_uri(cls, value: str) -> str:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "must be empty (a SQLite file in the data folder) or a postgresql:// URI"
            )
        return value

    def __init__(self, **data: Any) -> None:
        data.setdefault("_env_file", _env_file())
        super().__init__(**data)

    def output_cap(self) -> int:
        """The `max_tokens` every request carries: the setting, or the default for the effort."""
        return self.max_output_tokens or OUTPUT_CAPS.get(str(self.effort), 8192)

    def resolved_milvus_uri(self) -> str:
        """The Milvus URI, defaulting to a Lite file in the data folder."""
        return self.milvus_uri or str(self.data_dir / "milvus.db")

    def is_lite(self) -> bool:
        """True when the URI is a local Milvus Lite file rather than a server."""
        uri = self.resolved_milvus_uri()
        return not uri.startswith(("http://", "https://", "tcp://", "grpc://"))


_CACHE: dict[tuple[object, ...], Settings] = {}


def resolve(context: Context | None = None, **given: Any) -> Settings:
    """Settings from explicitly given values on top of the environment, `.env` and defaults.

    Building Settings reads the environment and .env (about 0.7 ms); a tool call needs it
    every time, so the result is kept for as long as nothing it reads has changed.

    Args:
        context: A run's Context; only its explicitly given fields count.
        **given: More explicit values (e.g. data_dir); None means not given.

    Raises:
        ConfigError: A value, given or from the environment, is invalid.
    """
    if isinstance(context, Settings):
        return context
    explicit = context.model_dump(exclude_unset=True) if context is not None else {}
    explicit.update({k: v for k, v in given.items() if v is not None})
    env = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("RESEARCH_AGENT_")))
    dotenv = Path(_env_file() or "")
    stamp = dotenv.stat().st_mtime_ns if dotenv.name and dotenv.is_file() else 0
    key = (tuple(sorted((k, repr(v)) for k, v in explicit.items())), env, stamp, os.getcwd())
    if key not in _CACHE:
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = Settings(**explicit)
    return _CACHE[key]
