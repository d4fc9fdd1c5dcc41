import pytest

from agent.eval import metrics


def test_normalize_answer_is_squad_normalisation() -> None:
    assert metrics.normalize_answer("The  Eiffel-Tower, in Paris!") == "eiffeltower in paris"
    assert metrics.normalize_answer("An apple a day") == "apple day"
    assert metrics.normalize_answer("theory") == "theory"  # only whole-word articles go


def test_exact_match_takes_the_best_alias() -> None:
    assert metrics.exact_match("the United States", ["USA", "United States"]) == 1.0
    assert metrics.exact_match("United States of America", ["USA", "United States"]) == 0.0
    assert metrics.exact_match("anything", []) == 0.0


def test_token_f1_exact_figures() -> None:
    # pred: [jane, doe, founded, acme] vs gold [jane, doe]: P=2/4, R=2/2 -> F1=2/3
    assert metrics.token_f1("Jane Doe founded Acme", ["Jane Doe"]) == pytest.approx(2 / 3)
    assert metrics.token_f1("Jane Doe founded Acme", ["Bob", "Doe"]) == pytest.approx(0.4)
    assert metrics.token_f1("nothing shared", ["Jane Doe"]) == 0.0
    assert metrics.token_f1("", [""]) == 1.0
    assert metrics.token_f1("the", ["Jane"]) == 0.0


def test_token_f1_counts_repeated_tokens_once_each() -> None:
    # pred [doe, doe] vs gold [doe]: common 1, P=1/2, R=1 -> 2/3
    assert metrics.token_f1("doe doe", ["doe"]) == pytest.approx(2 / 3)


def test_answer_contained_matches_whole_words_only() -> None:
    assert metrics.answer_contained("It was made by Acme Robotics. [1]", ["acme robotics"]) == 1.0
    assert metrics.answer_contained("Acmes robotics", ["acme"]) == 0.0
    assert metrics.answer_contained("anything", [""]) == 0.0


def test_strip_citations_removes_both_styles() -> None:
    text = "Jane Doe [1] founded it 【3†L2-L4】."
    assert metrics.normalize_answer(metrics.strip_citations(text)) == "jane doe founded it"


def test_evidence_recall_and_all_gold() -> None:
    seen = ["A", "C", "D", "A"]
    assert metrics.evidence_recall(seen, ["A", "B"]) == 0.5
    assert metrics.evidence_recall(seen, ["A", "C"]) == 1.0
    assert metrics.evidence_recall(seen, []) == 1.0
    assert metrics.all_gold(seen, ["A", "C"]) is True
    assert metrics.all_gold(seen, ["A", "B"]) is False


def test_citation_precision_counts_documents_once() -> None:
    assert metrics.citation_precision(["A", "A", "X"], ["A", "B"]) == 0.5
    assert metrics.citation_precision([], ["A"]) is None


def test_mean_skips_none() -> None:
    assert metrics.mean([1.0, None, 0.0]) == 0.5
    assert metrics.mean([None]) is None
