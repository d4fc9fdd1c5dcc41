"""What a research run returns: the answer, its verified citations and its steps (a leaf module)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from tools.schemas import page_span

REASONING_KEY = "reasoning_content"
"""Where reasoning is kept on AIMessage.additional_kwargs, whatever the server calls it."""

Status = Literal["answered", "insufficient_evidence", "budget_exhausted", "cut_off"]
"""cut_off: the server stopped the answer at the output cap (max_output_tokens); the text
is kept as far as it went."""


class Citation(BaseModel):
    """One citation kept after verification against the evidence the agent actually saw."""

    n: int = Field(description="Display number, as [n] in the answer text, from 1.")
    cursor: int = Field(description="Cursor of the document in this conversation.")
    doc_id: str
    source: str
    title: str
    start_line: int = Field(description="First cited line, clipped to what the agent saw.")
    end_line: int = Field(description="Last cited line, inclusive.")
    quote: str = Field(description="The cited lines as stored, not as the model wrote them.")
    page: int | None = Field(
        None, description="PDF page (slide, sheet) of start_line; None for other types."
    )
    last_page: int | None = Field(
        None, description="PDF page (slide, sheet) of end_line; None for other types."
    )

    def location(self) -> str:
        """Where the quote is: 'report.pdf p. 3, L40-L52', 'docs/x.md L40-L52'.

        A deck's slides and a workbook's sheets are its pages: 'deck.pptx slide 4, L9-L12'.
        """
        lines = f"L{self.start_line}-L{self.end_line}"
        pages = page_span(self.source, self.page, self.last_page)
        return f"{self.source} {pages}, {lines}" if pages else f"{self.source} {lines}"


class StepRecord(BaseModel):
    """One tool call of the run and what it returned."""

    tool: str
    args: dict[str, Any] = Field(default_factory=dict)
    result: str = Field("", description='Summary: "5 hits", "lines 1-60 of 120", "error: ...".')


class Steps(BaseModel):
    """What the run spent."""

    tool_calls: int = 0
    turns: int = 0
    prompt_tokens: int | None = Field(
        None, description="Summed over turns, where the server reports it."
    )
    completion_tokens: int | None = None
    run_tokens: int = Field(0, description="Prompt tokens sent, counted exactly per request.")
    records: list[StepRecord] = Field(default_factory=list)


class Answer(BaseModel):
    """The result of one question."""

    answer: str = Field(description="The answer text; citations appear as [n].")
    citations: list[Citation] = Field(default_factory=list)
    dropped_citations: int = Field(
        0, description="Citations that pointed at nothing the agent saw, removed from the text."
    )
    status: Status = "answered"
    model: str = ""
    provider: str = ""
    steps: Steps = Field(default_factory=Steps)


class StepEvent(BaseModel):
    """A progress event of a streamed run.

    Kinds: `answer_token` / `reasoning_token` (text as the model writes it, in `result`;
    answer and reasoning kept apart), `reasoning` (a turn's whole reasoning), `tool_call`
    (a call that ran; `note` says when a repair was needed to run it), `tool_result`, and
    `refused` (a call that did not run; `result` says why: budget spent, unreadable
    arguments, unknown tool).
    """

    kind: Literal[
        "answer_token", "reasoning_token", "reasoning", "tool_call", "tool_result", "refused"
    ]
    tool: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    result: str = ""
    note: str = Field("", description="What was repaired to run this call, if anything.")


class ModelChoice(BaseModel):
    """Which chat model serves a run, and why (the CLI's banner, `doctor`, Python callers)."""

    provider: str = Field(description="The server preset (vllm, llamacpp, ...) or offline.")
    model: str = Field(description="The model name on the server (the policy's name offline).")
    base_url: str | None = Field(None, description="The server's /v1 URL; None offline.")
    reason: str = Field(description="Why this one, e.g. 'configured' or what was probed.")

    @property
    def offline(self) -> bool:
        """True when the offline policy (no language model) serves the run."""
        return self.provider == "offline"
