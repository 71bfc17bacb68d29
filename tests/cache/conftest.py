"""Every test here gets its own BRAINALIGN_HOME (tiny models come from tests/conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def _isolated(isolated_home):
    return isolated_home
