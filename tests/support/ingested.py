"""Collections ingested once per session and shared by the tests that only read them.

Ingesting embeds every chunk, the costliest step of many slow tests; a test that writes to
or damages its database builds its own instead.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent import documents
from agent.settings import Settings
from tests.support.foundation import lite_settings, shared_corpus
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
