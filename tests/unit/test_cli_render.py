"""Answers: Markdown in a terminal, plain text when piped, the answer alone with --quiet."""

from __future__ import annotations

import pytest

from agent.cli import render
from agent.schemas import Answer, Citation

ANSWER = Answer(
    answer="**Jane Doe** founded it [1].\n\n- in 2011\n- in Oslo",
    citations=[
        Citation(
            n=1,
            cursor=0,
            doc_id="d",
            source="acme.md",
            title="Acme",
            start_line=3,
            end_line=4,
            quote="Acme Robotics was founded by Jane Doe in 2011.",
        )
    ],
    model="gpt-oss-20b",
    provider="vllm",
)


def test_piped_answer_is_the_plain_text_then_sources(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(render, "is_terminal", lambda: False)
    render.print_answer(ANSWER)
    out = capsys.readouterr().out
    assert out == (
        "\n**Jane Doe** founded it [1].\n\n- in 2011\n- in Oslo\n"
        "\nSources:\n  [1] acme.md L3-L4 (Acme)\n"
        "\nstatus: answered; model: gpt-oss-20b (vllm); 0 tool calls, 0 turns\n"
    )


def test_terminal_answer_is_rendered_markdown_with_sources_below(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(render, "is_terminal", lambda: True)
    render.print_answer(ANSWER)
    out = capsys.readouterr().out
    assert "**" not in out and "Jane Doe founded it [1]." in out  # bold rendered, not raw
    assert "• in 2011" in out and "- in 2011" not in out  # a rendered list
    assert out.index("Jane Doe") < out.index("Sources:\n  [1] acme.md L3-L4 (Acme)")


def test_quiet_prints_the_answer_alone(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(render, "is_terminal", lambda: True)
    render.print_answer(ANSWER, quiet=True)
    assert capsys.readouterr().out == ANSWER.answer + "\n"
