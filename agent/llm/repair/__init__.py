"""Repairs of what servers get wrong for gpt-oss: reply shapes, harmony debris, arguments."""
