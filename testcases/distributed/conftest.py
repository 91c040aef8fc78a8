"""Fixtures shared by the distributed-lab tests that need a bare coordinator."""

from __future__ import annotations

import pytest
from zc702_standin import coordinator


@pytest.fixture
def no_lab_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test names its coordinator and place itself: nothing from the caller's shell."""
    for name in ("LG_PLACE", "LG_TOKEN", "LG_COORDINATOR"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def lab_coordinator(tmp_path_factory: pytest.TempPathFactory):
    """A labgrid-coordinator on a free loopback port, for one test module."""
    with coordinator(tmp_path_factory.mktemp("coordinator")) as address:
        yield address
