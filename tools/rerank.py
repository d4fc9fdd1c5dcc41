"""An optional reranker: a `/rerank` endpoint reorders the fused candidates of a search.

Two request shapes cover the servers people already run for embeddings:
- Cohere/Jina shape (vLLM `/rerank` and `/v1/rerank`, Infinity `/rerank`, llama.cpp
  `/rerank`): `{model, query, documents, top_n}` -> `{"results": [{index, relevance_score}]}`.
- TEI (text-embeddings-inference `/rerank`): `{query, texts}` -> `[{index, score}]`.
The Cohere shape is sent first; a 400 or 422 (the server wants the other shape) is
answered by sending TEI's, and the shape that worked is remembered per URL. The order
the server returns is kept. Any failure (down, timeout, error status, a body that is not
one of those shapes) leaves the fused order as it was, with a one-line warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import httpx

from agent.settings import Settings

Shape = Literal["cohere", "tei"]
CANDIDATES = 20
"""Fused passages sent to the reranker (it picks the top k of them)."""
DOCUMENT_CHARS = 2000
"""Text sent per candidate: rerankers read a few hundred tokens at most."""

log = logging.getLogger("research_agent.rerank")
_shapes: dict[str, Shape] = {}


class RerankFailed(Exception):
    """The endpoint gave no usable order; the message says why in a few words."""


def _body(shape: Shape, model: str, query: str, docs: list[str]) -> dict[str, Any]:
    if shape == "tei":
        return {"query": query, "texts": docs}
    body: dict[str, Any] = {"query": query, "documents": docs, "top_n": len(docs)}
    if model:
        body["model"] = model
    return body


def parse_order(payload: Any, n: int) -> list[tuple[int, float | None]]:
    """(candidate index, score) in the order the server ranked them (either response shape).

    Raises:
        RerankFailed: The body is neither shape, or names an index twice or out of range.
    """
    items = payload.get("results") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        raise RerankFailed("the response has no results list")
    order: list[tuple[int, float | None]] = []
    for item in items:
        index = item.get("index") if isinstance(item, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < n:
            raise RerankFailed(f"the response names no valid candidate index ({item!r:.60})")
        if any(index == seen for seen, _ in order):
            raise RerankFailed(f"the response names candidate {index} twice")
        score = item.get("relevance_score", item.get("score"))
        order.append((index, float(score) if isinstance(score, int | float) else None))
    return order


def _post(settings: Settings, shape: Shape, query: str, docs: list[str]) -> httpx.Response:
    headers = {}
    if settings.rerank_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.rerank_api_key.get_secret_value()}"
    body = _body(shape, settings.rerank_model, query, docs)
    return httpx.post(
        settings.rerank_url, json=body, headers=headers, timeout=settings.rerank_timeout
    )


def request_order(
    settings: Settings, query: str, docs: list[str]
) -> list[tuple[int, float | None]]:
    """Ask the endpoint for its order of the documents.

    Raises:
        RerankFailed: No usable answer.
    """
    url = settings.rerank_url
    shapes: list[Shape] = [_shapes[url]] if url in _shapes else ["cohere", "tei"]
    for shape in shapes:
        try:
            response = _post(settings, shape, query, docs)
        except httpx.HTTPError as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise RerankFailed(f"{type(exc).__name__}: {first}".rstrip(": ")) from exc
        if response.status_code in (400, 422) and shape != shapes[-1]:
            continue  # the server wants the other request shape
        if response.status_code != 200:
            raise RerankFailed(f"HTTP {response.status_code}")
        try:
            order = parse_order(response.json(), len(docs))
        except ValueError as exc:
            raise RerankFailed("the response is not JSON") from exc
        _shapes[url] = shape
        return order
    raise RerankFailed("the server refused both request shapes")


def rerank(settings: Settings, query: str, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows in the reranker's order (its score as "score"), or as given when it fails.

    Candidates the server leaves out (a `top_n` it applies itself) follow in fused order.
    """
    if not settings.rerank_url or len(rows) < 2:
        return list(rows)
    docs = [f"{r['title']}\n{r['text']}"[:DOCUMENT_CHARS] for r in rows]
    try:
        order = request_order(settings, query, docs)
    except RerankFailed as exc:
        log.warning(
            "warning: reranker at %s failed (%s); using the fused order", settings.rerank_url, exc
        )
        return list(rows)
    ranked = [r if score is None else {**r, "score": score} for r, score in _picked(rows, order)]
    chosen = {i for i, _ in order}
    return ranked + [r for i, r in enumerate(rows) if i not in chosen]


def _picked(
    rows: Sequence[dict[str, Any]], order: list[tuple[int, float | None]]
) -> list[tuple[dict[str, Any], float | None]]:
    return [(rows[i], score) for i, score in order]
