"""LangGraph wiring only: the research graph and the ingest graph."""
