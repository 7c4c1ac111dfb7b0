"""End-to-end tests use `running_stack` (tests/stack.py, registered in tests/conftest.py)."""
from tests.stack import _mgmt  # noqa: F401  (some tests read the broker's management API)
