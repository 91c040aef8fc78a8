"""The scheduler core built for the host once per session."""

from __future__ import annotations

import pytest
from ovmcore import Core, build


@pytest.fixture(scope="session")
def core(tmp_path_factory: pytest.TempPathFactory) -> Core:
    return Core(build(tmp_path_factory.mktemp("host")))
