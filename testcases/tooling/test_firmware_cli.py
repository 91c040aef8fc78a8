"""Command line of lab.firmware."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.firmware.__main__ import main

REPO = Path(__file__).resolve().parents[2]


def test_check_passes_on_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(REPO), "check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "ok    qemu-vexpress-a9 / default: 2 VMs" in lines
    assert "ok    zc702 / default: 2 VMs" in lines


def test_check_fails_on_a_bad_board(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ovm" / "board" / "broken").mkdir(parents=True)
    (tmp_path / "ovm" / "board" / "broken" / "board.yaml").write_text("name: [\n")
    (tmp_path / "ovm" / "scenarios").mkdir()
    (tmp_path / "ovm" / "scenarios" / "s.yaml").write_text("description: d\nvms: []\n")
    assert main(["--repo", str(tmp_path), "check"]) == 2
    assert capsys.readouterr().out == (
        "FAIL  broken / s: ovm/board/broken/board.yaml: invalid YAML: line 2, column 1: "
        "expected the node content, but found '<stream end>'\n"
    )


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--repo", str(REPO), "list"]) == 0
    # Every scenario file, so that a new scenario does not need this test changed.
    scenarios = sorted(path.stem for path in (REPO / "ovm" / "scenarios").glob("*.yaml"))
    assert {"default", "paper-eval", "srt-overload"} <= set(scenarios)
    assert capsys.readouterr().out.splitlines() == [
        "boards:    qemu-vexpress-a9 zc702",
        "scenarios: " + " ".join(scenarios),
    ]


def test_config_error_is_one_line_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    assert main(["build", "--board", "nope", "--scenario", "default"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        "error: ovm/board/nope/board.yaml: unknown board 'nope' "
        "(available: qemu-vexpress-a9, zc702)\n"
    )
