# The sandbox payment gateway (a real process) and its fixtures, shared with tests/finance.
from tests.finance.conftest import gateway, sandbox  # noqa: F401
