"""A large ingest into a Milvus Lite file is preceded by one warning naming the server
alternative (Milvus Lite holds the collection in the ingesting process's memory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_ingest_resume import CountingEmbedder
from tests.support.foundation import lite_settings
from tools import ingest
from tools.store import close_stores, open_store


@pytest.mark.parametrize(("limit_mb", "notes"), [(0.01, 1), (20.0, 0)])
def test_a_large_ingest_into_a_lite_file_is_warned_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit_mb: float, notes: int
) -> None:
    monkeypatch.setattr(ingest, "LARGE_INGEST_MB", limit_mb)
    folder = tmp_path / "docs"
    folder.mkdir()
    for n in range(3):  # 3 x 8 KB: above 0.01 MB together, not one by one
        (folder / f"d{n}.md").write_text(f"# Doc {n}\n\n" + "word " * 1600, encoding="utf-8")
    settings = lite_settings(tmp_path)
    heard: list[str] = []
    try:
        report = ingest.ingest_paths(
            open_store(settings), CountingEmbedder(), [folder], settings, notice=heard.append
        )
    finally:
        close_stores()
    assert report.new == 3
    assert len(heard) == notes
    if notes:
        assert str(tmp_path / "m.db") in heard[0]
        assert "milvus-lite server" in heard[0] and "RESEARCH_AGENT_MILVUS_URI" in heard[0]
