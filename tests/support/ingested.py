"""Collections ingested once per session and shared by the tests that only read them.

Ingesting embeds every chunk, the costliest step of many slow tests; a test that writes to
or damages its database builds its own instead.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent import documents
from agent.settings import Settings
from tests.support.faults import TINY_DOCS
from tests.support.foundation import clean_env, lite_settings, run_cli, shared_corpus
from tests.support.isolation import isolated
from tools.store import close_stores

FAQ_FILES = 6
"""Files of ../shared/corpora/milvus_faq, LICENSE included (read as the UTF-8 text it is)."""


@pytest.fixture(scope="session")
def faq_lite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a Lite database holding the shared Milvus FAQ (skips when ../shared is absent).

    Read-only for its users: search and ask through it, never ingest into it.
    """
    corpus = shared_corpus("milvus_faq")
    with isolated():  # session fixtures run before each test's own isolation
        settings = lite_settings(tmp_path_factory.mktemp("faq"))
        report = documents.ingest([corpus], settings)
    assert report.new == FAQ_FILES and report.skipped == [] and report.chunks_written > 0
    close_stores()
    yield settings
    close_stores()


class IngestedCopies:
    """Folders holding a finished ingest, each built once per session and copied into tests.

    For tests that change or damage their database: each gets its own copy. Chunks keep
    their sources (named relative to the folder, as the CLI run there named them); only
    document ids, taken from the real path at ingest, name the folder built first.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def copy_into(self, dest: Path, build: Callable[[Path], None]) -> None:
        """Copy into dest the folder that `build` fills (a module-level function)."""
        template = self.root / f"{build.__module__}.{build.__qualname__}"
        if not template.is_dir():
            staging = template.with_name(template.name + ".building")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir()
            build(staging)
            staging.rename(template)
        shutil.copytree(template, dest, symlinks=True, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def ingested_copies(tmp_path_factory: pytest.TempPathFactory) -> IngestedCopies:
    """The session's IngestedCopies (templates under a session temporary folder)."""
    return IngestedCopies(tmp_path_factory.mktemp("ingested"))


def cli_ingest_tiny_docs(folder: Path) -> None:
    """TINY_DOCS under folder/docs, ingested by `research-agent ingest docs` into folder/ra."""
    for source, text in TINY_DOCS.items():
        (folder / "docs" / source).parent.mkdir(parents=True, exist_ok=True)
        (folder / "docs" / source).write_text(text, encoding="utf-8")
    env = clean_env(RESEARCH_AGENT_DATA_DIR=str(folder / "ra"))
    done = run_cli("ingest", "docs", env=env, cwd=folder)
    assert done.returncode == 0, done.stderr
