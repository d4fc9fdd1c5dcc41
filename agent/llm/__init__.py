"""The gpt-oss chat model: wire handling, output repairs, server presets, model choice."""
