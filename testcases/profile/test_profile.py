"""lab.profile: OVM's paths per function, from a QEMU instruction trace.

The cutting and classifying is checked on a trace written here from the real
symbols of eval-shared's build, where every count is known; the command end to
end on the emulated board, where the fast interrupt path, one fixed sequence
of instructions, must count the same on every visit under icount.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

from lab.firmware.build import build
from lab.firmware.layout import BuildLayout
from lab.firmware.limits import NS_AREA_H, c_define
from lab.firmware.loader import load_board
from lab.paths import REPO_ROOT
from lab.profile import QEMU_BOARD, build_symbols, main
from lab.profiling.paths import PATHS
from lab.profiling.report import NoVisits, profile
from lab.profiling.symbols import Place, Symbols
from lab.profiling.trace import TraceError, instructions, visits

SCENARIO = "eval-shared"


@pytest.fixture(scope="module")
def symbols() -> Symbols:
    build(QEMU_BOARD, SCENARIO, repo_root=REPO_ROOT)
    return build_symbols(QEMU_BOARD, SCENARIO, BuildLayout.under(REPO_ROOT / "build",
                                                                 QEMU_BOARD, SCENARIO))


def address(image: str, name: str) -> int:
    layout = BuildLayout.under(REPO_ROOT / "build", QEMU_BOARD, SCENARIO)
    path = layout.ovm_elf if image == "ovm" else layout.guest_elf(image)
    with path.open("rb") as stream:
        table = ELFFile(stream).get_section_by_name(".symtab")
        return next(s["st_value"] & ~1 for s in table.iter_symbols() if s.name == name)


def line(core: int, pc: int) -> bytes:
    return f"Trace {core}: 0x7f2e00164240 [00000400/{pc:08x}/00000100/ff020201] \n".encode()


def test_a_trace_is_cut_into_whole_visits_and_each_counted_per_function(symbols) -> None:
    srt, nrt = address("srt", "guest_main"), address("nrt", "guest_main")
    vectors, smc = address("ovm", "monitor_vectors"), address("ovm", "mon_smc")
    vm_exit, save = address("ovm", "hc_vm_exit"), address("ovm", "arch_context_save")
    trace = [
        line(0, save), line(0, save + 4),  # the trace began inside OVM: cut off
        line(0, srt),
        line(0, vectors + 8), line(0, smc), line(0, smc + 4), line(0, smc + 8),
        line(1, srt),  # the other core's instructions are its own
        line(0, vm_exit), line(0, vm_exit + 4), line(0, save),
        b"QEMU's own note in the log\n",
        line(0, nrt),
        line(0, vectors + 8), line(0, smc),  # the trace ended inside OVM: cut off
    ]
    found = list(visits(instructions(trace), symbols))
    assert len(found) == 1
    visit = found[0]
    assert (visit.core, visit.came_from, visit.went_to, visit.instructions) == (0, "srt", "nrt", 7)
    assert visit.route == ["monitor_vectors", "mon_smc", "hc_vm_exit"]
    assert visit.entered_by("mon_smc") and not visit.entered_by("mon_fiq")
    assert dict(visit.functions) == {Place("ovm", "monitor_vectors"): 1, Place("ovm", "mon_smc"): 3,
                                     Place("ovm", "hc_vm_exit"): 2,
                                     Place("ovm", "arch_context_save"): 1}
    assert PATHS["vm_exit"].takes(visit) and not PATHS["release"].takes(visit)

    result = profile("vm_exit", found, PATHS["vm_exit"].takes)
    assert (result.visits, result.minimum, result.maximum, result.mean) == (1, 7, 7, 7.0)
    assert list(result.per_function)[0] == Place("ovm", "mon_smc")
    with pytest.raises(NoVisits, match="no complete release visit in the trace "
                                       r"\(1 visits of other paths\)"):
        profile("release", found, PATHS["release"].takes)


def test_the_shim_is_ovm_and_named_by_its_vector(symbols) -> None:
    board = load_board(REPO_ROOT / "ovm", QEMU_BOARD)
    shim = board.ovm_ns.base + c_define(NS_AREA_H, "NS_AREA_SHIM")
    assert symbols.lookup(shim + 8) == Place("shim", "vector 2")
    assert symbols.lookup(shim + 8).in_ovm
    assert symbols.lookup(shim + 32).image == "?"
    assert not symbols.lookup(address("srt", "guest_main")).in_ovm


def test_what_is_not_an_exec_log_is_refused() -> None:
    with pytest.raises(TraceError, match="no exec lines"):
        list(instructions([b"in_asm\n", b"0x60000000: e3a00000 mov r0, #0\n"]))


def test_an_unknown_or_unbuilt_scenario_is_a_clear_error(capsys, tmp_path: Path) -> None:
    assert main(["vm_exit", "--scenario", "nope", "--out", str(tmp_path)]) == 2
    assert "nope" in capsys.readouterr().err


def _profile(tmp_path: Path, path: str, instructions: int) -> dict:
    out = tmp_path / path
    assert main([path, "--instructions", str(instructions), "--out", str(out)]) == 0
    assert not (out / "trace.log").exists() and not (out / "monitor.sock").exists()
    assert (out / "profile.txt").read_text().startswith(f"profile of {path} on qemu-vexpress-a9")
    assert "[srt] SRT probe: set_realtime_info" in (out / "console.log").read_text()
    return json.loads((out / "profile.json").read_text())


@pytest.mark.qemu
def test_vm_exit_profile_accounts_for_every_instruction(symbols, tmp_path: Path) -> None:
    result = _profile(tmp_path, "vm_exit", 1_500_000)
    assert (result["board_kind"], result["timing"], result["icount_shift"]) == ("qemu", "icount", 4)
    assert result["commit"] and result["scenario"] == SCENARIO
    assert result["visits"] > 0
    counts = result["instructions"]
    assert counts["min"] <= counts["mean"] <= counts["max"]
    per_visit = {f["function"]: f["instructions_per_visit"] for f in result["functions"]}
    # Every instruction of a visit is in some function: the column adds up to the mean.
    assert sum(per_visit.values()) == pytest.approx(counts["mean"], abs=0.1 * len(per_visit))
    # An SRT job done on time: the quick scheduling case, the lean switch between
    # two user-mode vCPUs.
    for step in ("mon_smc", "hypercall_dispatch", "hc_vm_exit", "sched_job_done_pick",
                 "sched_pick", "arch_user_context_switch"):
        assert per_visit[step] > 0, step


@pytest.mark.qemu
def test_the_fast_interrupt_path_counts_the_same_every_visit(symbols, tmp_path: Path) -> None:
    result = _profile(tmp_path, "interrupt", 1_500_000)
    counts = result["instructions"]
    assert result["visits"] > 0
    assert counts["min"] == counts["max"]
    assert {f["function"] for f in result["functions"]} >= {"mon_fiq", "fiq_user"}
    assert "arch_handle_fiq" not in {f["function"] for f in result["functions"]}
