"""Fixtures of the predictions tests: serving from a throwaway registry (tests/support/registry.py)."""

from tests.support.registry import broken_state_dict, bundled_state_dict, nudged_state_dict, served_from_registry  # noqa: F401
