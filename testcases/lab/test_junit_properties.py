"""pytest's JUnit XML carries where the results came from (board, timing, image, commit)."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _properties(tmp_path: Path, *options: str) -> dict[str, str]:
    report = tmp_path / "results.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "testcases/tooling/test_firmware_cli.py::test_list", f"--junitxml={report}", *options],
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    suite = ElementTree.parse(report).getroot().find("testsuite")
    assert suite is not None
    return {p.get("name"): p.get("value") for p in suite.iter("property")}


def test_a_target_run_names_board_timing_image_and_commit(tmp_path: Path) -> None:
    from lab.target.provenance import git_commit

    properties = _properties(tmp_path, "--lg-env", "env/qemu.yaml")
    assert properties["board"] == "qemu-vexpress-a9"
    assert properties["board_kind"] == "qemu"
    assert properties["timing"] == "icount"
    assert properties["icount_shift"] == "4"
    assert properties["image"] == str(REPO / "build/qemu-vexpress-a9/default/ovm.elf")
    assert properties["commit"] == git_commit(REPO)


def test_a_run_without_target_says_so(tmp_path: Path) -> None:
    properties = _properties(tmp_path)
    assert properties["board"].startswith("none")
    assert "commit" in properties
