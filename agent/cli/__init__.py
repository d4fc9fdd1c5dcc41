"""The research-agent command line: a thin client of the Python API."""
