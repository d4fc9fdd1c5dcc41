"""The evaluation harness: QA datasets, systems under test, scores."""
