"""Helpers several suites share (import them as `tests.support.<module>`; fixtures stay in conftest.py)."""
