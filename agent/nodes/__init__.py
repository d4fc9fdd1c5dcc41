"""The research graph's nodes: prepare, call_model, tools, respond, and what they stand on."""
