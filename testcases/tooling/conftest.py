"""Fixtures shared by the tooling tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_tree import make_tree


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A minimal ovm/ tree in the working directory, so errors show relative paths."""
    monkeypatch.chdir(tmp_path)
    return make_tree(tmp_path)
