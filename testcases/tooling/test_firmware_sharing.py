"""Scenario schema v2: scheduler, real-time parameters, interrupts, the host VM, and the
checks across VMs (lab.firmware.loader, lab.firmware.sharing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scenario_tree import (
    SCENARIO_FILE,
    board_error,
    board_with,
    scenario_error,
    vm,
    write_board,
    write_scenario,
)

from lab.firmware.limits import c_define
from lab.firmware.loader import load_board, load_scenario
from lab.firmware.model import IrqRoute, Level, RtParams, Scenario, SchedConfig, VmIrq

REPO_OVM = Path(__file__).resolve().parents[2] / "ovm"


def rt(deadline: int, period: int, budget: int) -> dict[str, int]:
    return {"deadline_us": deadline, "period_us": period, "budget_us": budget}


def srt(name: str, params: dict[str, int], cores: list[int] | None = None) -> dict[str, Any]:
    return vm(name, level="SRT", cores=cores or [0], realtime=params)


def load(root: Path, vms: list[dict[str, Any]], **top_level: Any) -> Scenario:
    write_scenario(root, {"description": "test", "vms": vms, **top_level})
    return load_scenario(root, "s", load_board(root, "b"))


# --- the paper's scenario ------------------------------------------------------


def test_paper_eval_scenario() -> None:
    scenario = load_scenario(REPO_OVM, "paper-eval", load_board(REPO_OVM, "qemu-vexpress-a9"))
    assert [(v.name, v.level, v.cores) for v in scenario.vms] == [
        ("hrt", Level.HRT, (1,)), ("srt", Level.SRT, (0,)), ("nrt", Level.NRT, (0,)),
    ]
    # hrt takes the first 16 MiB boundary after OVM's non-secure area; the others fill below it.
    assert [str(v.memory) for v in scenario.vms] == [
        "0x62000000-0x62ffffff", "0x61100000-0x612fffff", "0x61300000-0x616fffff",
    ]
    assert [v.realtime for v in scenario.vms] == [None, RtParams(1000, 1000, 900), None]
    assert [v.host for v in scenario.vms] == [False, False, True]
    assert scenario.irq_routes == (
        IrqRoute(irq=29, core=1, vm=0, vcpu=0),
        IrqRoute(irq=29, core=0, vm=1, vcpu=0),
        IrqRoute(irq=30, core=0, vm=2, vcpu=0),
    )
    assert scenario.scheduler == SchedConfig(tick_us=100, nrt_slice_us=1000, min_period_us=100)


def test_c_limits_come_from_config_h(tmp_path: Path) -> None:
    header = tmp_path / "config.h"
    header.write_text("#define OVM_MAX_CORES 4\n#define OVM_MAX_VMSX 9\n#define OVM_MAX_VMS 0x8u\n")
    assert c_define(header, "OVM_MAX_CORES") == 4
    assert c_define(header, "OVM_MAX_VMS") == 8
    with pytest.raises(LookupError) as caught:
        c_define(header, "OVM_MAX_IRQS")
    assert str(caught.value) == f"{header}: no '#define OVM_MAX_IRQS <integer>'"


# --- accepted -------------------------------------------------------------------


def test_scheduler_keys_override_the_defaults(tree: Path) -> None:
    scenario = load(tree, [vm()], scheduler={"tick_us": 0, "min_period_us": 50})
    assert scenario.scheduler == SchedConfig(tick_us=0, nrt_slice_us=1000, min_period_us=50)


def test_irqs_as_numbers_and_mappings(tree: Path) -> None:
    vms = [
        vm("a", cores=[1, 0], irqs=[40, {"irq": 29, "vcpu": 1}, {"irq": 29}]),
        vm("b", cores=[1], irqs=[{"irq": 30, "vcpu": 0}, 41]),
    ]
    scenario = load(tree, vms)
    assert scenario.vms[0].irqs == (VmIrq(40, 0), VmIrq(29, 1), VmIrq(29, 0))
    # A vCPU's core is cores[vcpu]: PPI 29 goes to core 0 for vCPU 1 and core 1 for vCPU 0.
    assert scenario.irq_routes == (
        IrqRoute(40, core=1, vm=0, vcpu=0),
        IrqRoute(29, core=0, vm=0, vcpu=1),
        IrqRoute(29, core=1, vm=0, vcpu=0),
        IrqRoute(30, core=1, vm=1, vcpu=0),
        IrqRoute(41, core=1, vm=1, vcpu=0),
    )


def test_srt_vms_sharing_a_core_up_to_full_utilization(tree: Path) -> None:
    scenario = load(tree, [
        srt("a", rt(1000, 1000, 600)), srt("b", rt(2000, 2000, 800)), vm("c", host=True),
    ])
    assert [v.realtime for v in scenario.vms] == [
        RtParams(1000, 1000, 600), RtParams(2000, 2000, 800), None,
    ]
    assert [v.host for v in scenario.vms] == [False, False, True]


def test_constrained_deadlines_that_pass_the_demand_test(tree: Path) -> None:
    load(tree, [srt("a", rt(200, 400, 100)), srt("b", rt(300, 600, 150))])


def test_srt_without_parameters_and_nrt_may_share_a_core(tree: Path) -> None:
    load(tree, [vm("a", level="SRT"), vm("b"), vm("c", level="HRT", cores=[1])])


# --- rejected -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheduler", "message"),
    [
        ({"tick_us": -1}, "scheduler.tick_us: -1 is out of range 0..1000000"),
        ({"nrt_slice_us": 9}, "scheduler.nrt_slice_us: 9 is out of range 10..10000000"),
        ({"min_period_us": 5}, "scheduler.min_period_us: 5 is out of range 10..10000000"),
        ({"min_period_us": 100.5},
         "scheduler.min_period_us: expected an integer, got 100.5"),
        ({"tick": 100},
         "scheduler.tick: unknown key (allowed: min_period_us, nrt_slice_us, tick_us)"),
        ([100], "scheduler: expected a mapping, got a list"),
    ],
)
def test_rejected_scheduler(tree: Path, scheduler: Any, message: str) -> None:
    assert scenario_error(tree, [vm()], scheduler=scheduler) == f"{SCENARIO_FILE}: {message}"


def test_period_below_the_configured_minimum(tree: Path) -> None:
    error = scenario_error(tree, [srt("a", rt(150, 150, 10))], scheduler={"min_period_us": 200})
    assert error == (
        f"{SCENARIO_FILE}: vms[0].realtime.period_us: 150 is below scheduler.min_period_us (200)"
    )


@pytest.mark.parametrize(
    ("vms", "message"),
    [
        # realtime
        ([vm("a", level="NRT", realtime=rt(1000, 1000, 1))],
         "vms[0].realtime: only SRT VMs have real-time parameters, VM 'a' is NRT"),
        ([vm("a", level="HRT", realtime=rt(1000, 1000, 1))],
         "vms[0].realtime: only SRT VMs have real-time parameters, VM 'a' is HRT"),
        ([srt("a", rt(1000, 1000, 0))],
         "vms[0].realtime.budget_us: 0 is out of range 1..10000000"),
        ([srt("a", rt(1000, 20_000_000, 1))],
         "vms[0].realtime.period_us: 20000000 is out of range 1..10000000"),
        ([srt("a", rt(1000, 99, 1))],
         "vms[0].realtime.period_us: 99 is below scheduler.min_period_us (100)"),
        ([srt("a", rt(1001, 1000, 1))],
         "vms[0].realtime.deadline_us: 1001 exceeds period_us (1000)"),
        ([srt("a", rt(500, 1000, 501))],
         "vms[0].realtime.budget_us: 501 exceeds deadline_us (500)"),
        ([srt("a", {**rt(500, 1000, 1), "budget_us": "1ms"})],
         "vms[0].realtime.budget_us: expected an integer, got '1ms'"),
        ([srt("a", {"deadline_us": 500, "period_us": 1000})],
         "vms[0].realtime.budget_us: required key missing"),
        ([srt("a", {**rt(500, 1000, 1), "wcet_us": 1})],
         "vms[0].realtime.wcet_us: unknown key (allowed: budget_us, deadline_us, period_us)"),
        # irqs
        ([vm("a", irqs=[15])],
         "vms[0].irqs[0]: interrupt 15 is an SGI (0..15), which cannot be routed"),
        ([vm("a", irqs=[96])],
         "vms[0].irqs[0]: interrupt 96 does not exist: board 'b' has interrupts 16..95"),
        ([vm("a", irqs=[{"irq": 0}])],
         "vms[0].irqs[0].irq: interrupt 0 is an SGI (0..15), which cannot be routed"),
        ([vm("a", irqs=[{"irq": 40, "vcpu": 1}])],
         "vms[0].irqs[0].vcpu: vCPU 1 does not exist: VM 'a' has vCPUs 0..0"),
        ([vm("a", irqs=["29"])],
         "vms[0].irqs[0]: expected an interrupt number or {irq: N, vcpu: K}, got '29'"),
        ([vm("a", irqs=[{"irq": 29, "core": 0}])],
         "vms[0].irqs[0].core: unknown key (allowed: irq, vcpu)"),
        ([vm("a", irqs=29)], "vms[0].irqs: expected a list, got 29"),
        # host
        ([vm("a", host="yes")], "vms[0].host: expected true or false, got 'yes'"),
        ([vm("a", level="SRT", host=True)],
         "vms[0].host: the host VM must be NRT, VM 'a' is SRT"),
        ([vm("a", host=True), vm("b", host=False), vm("c", host=True)],
         "vms[2].host: VM 'a' is the host already (at most one host VM)"),
        # core occupation
        ([vm("a"), vm("hrt", level="HRT", cores=[1]), vm("c", cores=[0, 1])],
         "vms[2].cores: core 1 is occupied by HRT VM 'hrt' (an HRT vCPU owns its core)"),
        ([vm("hrt", level="HRT", cores=[0]), vm("other", level="HRT", cores=[0])],
         "vms[1].cores: core 0 is occupied by HRT VM 'hrt' (an HRT vCPU owns its core)"),
        ([vm("a", cores=[1]), vm("hrt", level="HRT", cores=[0, 1])],
         "vms[1].cores: core 1 is already used by VM 'a' (an HRT vCPU owns its core)"),
        # routing
        ([vm("a", irqs=[40]), vm("b", cores=[1], irqs=[40])],
         "vms[1].irqs[0]: SPI 40 is routed to both VM 'a' and VM 'b' (an SPI goes to one vCPU)"),
        ([vm("a", cores=[0, 1], irqs=[40, {"irq": 40, "vcpu": 1}])],
         "vms[0].irqs[1]: SPI 40 is routed twice in VM 'a' (an SPI goes to one vCPU)"),
        ([vm("a", irqs=[29]), vm("b", irqs=[30, 29])],
         "vms[1].irqs[1]: PPI 29 on core 0 is routed to both VM 'a' and VM 'b' "
         "(a PPI goes to one vCPU per core)"),
        ([vm("a", cores=[1, 0], irqs=[29]), vm("b", cores=[1], irqs=[{"irq": 29}])],
         "vms[1].irqs[0]: PPI 29 on core 1 is routed to both VM 'a' and VM 'b' "
         "(a PPI goes to one vCPU per core)"),
        # admission: utilization 600/1000 + 900/2000 = 1.05
        ([srt("a", rt(1000, 1000, 600)), vm("b"), srt("c", rt(2000, 2000, 900))],
         "vms[2].realtime: core 0: SRT set not EDF-schedulable: utilization 1.050 (105.0%) > 1 "
         "(VMs 'a', 'c')"),
        # 1/3 + 2/3 + 1/1000000: just above 1 is not shown as 1.000.
        ([srt("a", rt(300, 300, 100)), srt("b", rt(300, 300, 200)),
          srt("c", rt(1_000_000, 1_000_000, 1))],
         "vms[2].realtime: core 0: SRT set not EDF-schedulable: utilization 1.001 (100.1%) > 1 "
         "(VMs 'a', 'b', 'c')"),
        # Each alone fits core 1; together 150 + 200 = 350 us are due in the first 300 us.
        ([srt("a", rt(300, 500, 150), cores=[1]), srt("b", rt(300, 1000, 200), cores=[0, 1])],
         "vms[1].realtime: core 1: SRT set not EDF-schedulable: demand 350 us in the first "
         "300 us (utilization 0.500) (VMs 'a', 'b')"),
    ],
)
def test_rejected_v2_scenario(tree: Path, vms: list[dict[str, Any]], message: str) -> None:
    assert scenario_error(tree, vms) == f"{SCENARIO_FILE}: {message}"


def test_ovm_non_secure_area_must_be_in_ram(tree: Path) -> None:
    write_board(tree, board_with(ovm__offset="240M"))
    assert board_error(tree) == (
        "ovm/board/b/board.yaml: ovm: OVM's non-secure area 0x70000000-0x700fffff "
        "(the 1 MiB after its region) lies outside RAM (0x60000000-0x6fffffff)"
    )
