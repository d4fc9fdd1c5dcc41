"""LangGraph wiring only: the research graph and the ingest graph."""

import tools  # noqa: F401  # first: sets gRPC's verbosity before anything imports gRPC
