"""Server knowledge: presets, which model serves a run, context windows, harmony counts."""
