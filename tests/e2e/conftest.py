"""End-to-end tests use `running_stack` (tests/stack.py, registered in tests/conftest.py)."""
from tests.stack import _mgmt  # noqa: F401  (some tests read the broker's management API)


def pytest_configure(config):
    config.addinivalue_line("markers", "last_on_the_stack: runs after every other test of the session (it moves "
                                       "the shared stack's clock by months: every open deadline fires)")


def pytest_collection_modifyitems(session, config, items):
    """Tests marked `last_on_the_stack` run at the end, in their order (a stable sort)."""
    items.sort(key=lambda item: item.get_closest_marker("last_on_the_stack") is not None)
