"""The offline policy: a deterministic planner that drives the graph without an LLM."""
