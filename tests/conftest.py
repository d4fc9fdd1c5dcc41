"""Fixtures shared by all tests."""

from tests.support.wire_server import wire_server  # noqa: F401
