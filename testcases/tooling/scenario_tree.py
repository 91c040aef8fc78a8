"""Board and scenario files written into a temporary ovm/ tree, for the loader tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.firmware.errors import ConfigError
from lab.firmware.loader import load_board, load_scenario

BOARD: dict[str, Any] = {
    "name": "b",
    "description": "test board",
    "cpu": "cortex-a9",
    "cores": 2,
    "ram": {"base": 0x60000000, "size": "256M"},
    "ovm": {"offset": 0, "size": "16M"},
    "periph_base": 0x1E000000,
    "gic_lines": 96,
    "private_timer_hz": 100000000,
    "console": {"driver": "pl011", "base": 0x10009000, "clock_hz": 24000000, "baud": 115200},
    "secondary_release": None,
}

BOARD_FILE = "ovm/board/b/board.yaml"
SCENARIO_FILE = "ovm/scenarios/s.yaml"


def vm(name: str = "a", size: Any = "1M", **extra: Any) -> dict[str, Any]:
    entry = {"name": name, "guest": "hello", "level": "NRT", "cores": [0], "memory": {"size": size}}
    entry.update(extra)
    return entry


def make_tree(directory: Path) -> Path:
    """A minimal ovm/ tree: board 'b', guest 'hello', no scenario yet."""
    root = directory / "ovm"
    (root / "board" / "b").mkdir(parents=True)
    (root / "scenarios").mkdir()
    (root / "guests" / "hello").mkdir(parents=True)
    (root / "guests" / "lib").mkdir()
    write_board(root, BOARD)
    return root


def write_board(root: Path, doc: Any) -> None:
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc)
    (root / "board" / "b" / "board.yaml").write_text(text)


def write_scenario(root: Path, doc: Any) -> None:
    text = doc if isinstance(doc, str) else yaml.safe_dump(doc)
    (root / "scenarios" / "s.yaml").write_text(text)


DELETE = object()


def board_with(**changes: Any) -> dict[str, Any]:
    """BOARD with keys replaced; "a__b" names key b inside a, and DELETE removes a key."""
    doc = copy.deepcopy(BOARD)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = doc
        for key in parents:
            target = target[key]
        if value is DELETE:
            del target[last]
        else:
            target[last] = value
    return doc


def board_error(root: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_board(root, "b")
    return str(caught.value)


def scenario_error(root: Path, vms: Any, **top_level: Any) -> str:
    return scenario_file_error(root, {"description": "test", "vms": vms, **top_level})


def scenario_file_error(root: Path, content: Any) -> str:
    """What loading the scenario file of `content` (a mapping, or the file's text) says."""
    write_scenario(root, content)
    board = load_board(root, "b")
    with pytest.raises(ConfigError) as caught:
        load_scenario(root, "s", board)
    return str(caught.value)


def placed(root: Path, vms: list[dict[str, Any]]) -> list[str]:
    write_scenario(root, {"description": "test", "vms": vms})
    scenario = load_scenario(root, "s", load_board(root, "b"))
    return [str(v.memory) for v in scenario.vms]

