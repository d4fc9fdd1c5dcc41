"""Evidence, one room: what the agent has seen, its citations checked against it, summaries.

- seen.py: the documents and lines seen, read from tool artifacts (through tools/artifacts.py,
  the one parser of artifacts).
- citations.py: the markers in an answer, checked against what was seen, renumbered.
- summaries.py: one line per tool result, and the (tool, args, summary) steps of a run.

The nodes, the offline policy, the API's events, the eval harness and report mode read
evidence here; this package imports only tools, the leaves and the graph's state (never
agent/nodes or agent/offline), so any of them may use it (tests/unit/test_layout.py).
"""
