"""In-memory stand-ins for milvus_search and fetch_doc: same names, arguments and artifacts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import InjectedState

from tools.cursors import CursorRegistry
from tools.errors import StoreError, ToolInputError
from tools.schemas import DocWindow, SearchHit, SearchResult

CHUNK_LINES = 3


def words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"\w+", text)}


@dataclass
class FakeCorpus:
    """Documents as lists of lines, chunked every CHUNK_LINES lines; counts what it serves."""

    docs: dict[str, tuple[str, str, list[str]]]  # doc_id -> (source, title, lines)
    searches: list[str] = field(default_factory=list)
    fetches: list[tuple[int | None, int]] = field(default_factory=list)
    down: bool = False

    def chunks(self, doc_id: str) -> list[tuple[int, int, str]]:
        lines = self.docs[doc_id][2]
        return [
            (i + 1, min(i + CHUNK_LINES, len(lines)), "\n".join(lines[i : i + CHUNK_LINES]) + "\n")
            for i in range(0, len(lines), CHUNK_LINES)
        ]

    def search(self, query: str, k: int, registry: CursorRegistry) -> SearchResult:
        if self.down:
            raise StoreError("Milvus is down: start it or check --milvus-uri.")
        self.searches.append(query)
        wanted = words(query)
        scored = []
        for doc_id, (source, title, _) in self.docs.items():
            for index, (start, end, text) in enumerate(self.chunks(doc_id)):
                overlap = len(wanted & words(text))
                if overlap:
                    scored.append((overlap, doc_id, source, title, index, start, end, text))
        scored.sort(key=lambda s: (-s[0], s[1], s[4]))
        hits = [
            SearchHit(
                cursor=registry.assign(doc_id),
                doc_id=doc_id,
                source=source,
                title=title,
                chunk_id=f"{doc_id}-{index}",
                chunk_index=index,
                start_line=start,
                end_line=end,
                score=float(overlap),
                text=text,
            )
            for overlap, doc_id, source, title, index, start, end, text in scored[:k]
        ]
        return SearchResult(query=query, k=k, hits=hits)

    def tools(self) -> list[BaseTool]:
        corpus = self

        @tool("milvus_search", response_format="content_and_artifact")
        def milvus_search(
            query: str,
            state: Annotated[dict[str, Any], InjectedState],
            k: int = 5,
            source: str | None = None,
        ) -> tuple[str, SearchResult]:
            """Search the user's documents."""
            registry = CursorRegistry.from_messages(state["messages"])
            result = corpus.search(query, k, registry)
            text = "\n".join(
                f"【{h.cursor}†{h.title}】 L{h.start_line}-L{h.end_line}\n{h.text}"
                for h in result.hits
            )
            return text or "No results.", result

        @tool("fetch_doc", response_format="content_and_artifact")
        def fetch_doc(
            state: Annotated[dict[str, Any], InjectedState],
            cursor: int | None = None,
            doc_id: str | None = None,
            start_line: int = 1,
            num_lines: int = 60,
        ) -> tuple[str, DocWindow]:
            """Open a document as numbered lines."""
            registry = CursorRegistry.from_messages(state["messages"])
            if cursor is not None and cursor not in registry.by_cursor:
                raise ToolInputError(
                    f"Cursor {cursor} is unknown. Known cursors: {registry.known()}."
                )
            resolved = registry.by_cursor[cursor] if cursor is not None else doc_id or ""
            corpus.fetches.append((cursor, start_line))
            source, title, lines = corpus.docs[resolved]
            shown = lines[start_line - 1 : start_line - 1 + num_lines]
            window = DocWindow(
                cursor=registry.assign(resolved),
                doc_id=resolved,
                source=source,
                title=title,
                start_line=start_line,
                end_line=start_line + len(shown) - 1,
                total_lines=len(lines),
                lines=shown,
            )
            text = "\n".join(f"L{start_line + i}: {line}" for i, line in enumerate(shown))
            return text, window

        return [milvus_search, fetch_doc]
