"""I/O through OVM and through the host, seen from the guests (scenario io-proxy).

Two SRT VMs share the console through OVM's device function: ``chatty``
writes far more than its share, ``quiet`` one short line per round; OVM's
bandwidth sharing must keep quiet's lines within two rounds and keep every
line whole. ``quiet`` also uses OVM's timer device and tries what it must not.
The NRT VM's device accesses go to the host guest, which emulates the device;
its results must be the device's. The host's own console is
``test_io_host.py``'s.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.firmware.limits import CONSOLE_QUEUE
from lab.firmware.loader import load_board, load_scenario
from lab.host.console import abi
from lab.target.records import parse_records, values_line

pytestmark = pytest.mark.lab

REPORT_S = 60.0
DELIVERY_US = 20
SCENARIO = "io-proxy"


@pytest.fixture(scope="module")
def io_proxy(boot_scenario):
    return boot_scenario(SCENARIO)


@pytest.fixture(scope="module")
def scenario(repo_root: Path, env):
    ovm = repo_root / "ovm"
    board = load_board(ovm, env.config.get_option("ovm_board"))
    return board, load_scenario(ovm, SCENARIO, board)


def ticks_per_us(board) -> int:
    return board.private_timer_hz // 1_000_000


def console_figures(transcript, vm: str) -> dict[str, int]:
    """A VM's summary of its console use (its ``console`` V record)."""
    transcript.wait_for(values_line(vm, "console"), REPORT_S)
    records = parse_records(transcript.text)
    assert [r for r in records.rejected if (r.vm, r.series) == (vm, "console")] == []
    return records.values_of("console", vm)


def test_quiet_lines_wait_at_most_two_rounds_while_chatty_floods(io_proxy, scenario):
    board, config = scenario
    quiet = console_figures(io_proxy.transcript, "quiet")
    bound_ticks = 2 * config.console.round_us * ticks_per_us(board)
    assert quiet["line_bytes"] <= config.console.bytes_per_round
    assert 0 < quiet["max_delay_ticks"] <= bound_ticks
    assert quiet["throttled"] == 0
    lines = re.findall(r"^\[quiet\] quiet (\d{3})$", io_proxy.transcript.text, re.MULTILINE)
    assert [int(n) for n in lines[: quiet["lines"]]] == list(range(quiet["lines"]))


def test_chatty_is_held_to_its_share_and_its_lines_stay_whole(io_proxy, scenario):
    board, config = scenario
    chatty = console_figures(io_proxy.transcript, "chatty")
    assert chatty["throttled"] > 0
    assert chatty["refused_jobs"] == chatty["throttled"]
    vm = next(vm for vm in config.vms if vm.name == "chatty")
    assert vm.realtime is not None
    rounds = chatty["jobs"] * vm.realtime.period_us // config.console.round_us + 1
    share = rounds * config.console.bytes_per_round + CONSOLE_QUEUE
    assert chatty["lines"] * chatty["line_bytes"] <= share
    text = io_proxy.transcript.text
    sent = re.findall(r"^\[chatty\] chatty \d{6} [a-z]+$", text, re.MULTILINE)
    assert len(sent) >= chatty["lines"] - 3
    assert all(len(line) == len("[chatty] ") + chatty["line_bytes"] - 1 for line in sent)
    assert not re.search(r"^\[chatty\] .*quiet \d{3}", text, re.MULTILINE)


def test_timer_device_fires_within_a_tick(io_proxy, scenario):
    board, config = scenario
    timer = io_proxy.transcript.wait_for(
        r"^\[quiet\] quiet: timer device fired=(?P<fired>\d+) late_ticks=(?P<late>\d+)$", REPORT_S)
    assert int(timer["fired"]) == 1
    # Seen at the first tick after it fell due, then delivered by that pass and the
    # guest's upcall: a tick and a few hundred instructions (one pass is well under
    # DELIVERY_US even in real time on the board).
    bound_us = config.scheduler.tick_us + DELIVERY_US
    assert int(timer["late"]) <= bound_us * ticks_per_us(board)
    count = io_proxy.transcript.wait_for(
        r"^\[quiet\] quiet: timer device count within the caller's own reads: "
        r"(?P<ok>\d+)/(?P<n>\d+)$", REPORT_S)
    assert count["ok"] == count["n"] == "100"


def test_srt_guest_is_refused_what_it_was_not_granted(io_proxy):
    refused = io_proxy.transcript.wait_for(
        r"^\[quiet\] quiet: refused: nodev=(?P<nodev>-?\d+) fault=(?P<fault>-?\d+) "
        r"rx=(?P<rx>-?\d+) unaligned=(?P<unaligned>-?\d+) badreg=(?P<badreg>-?\d+) "
        r"read_io=(?P<read_io>-?\d+) register=(?P<register>-?\d+)$", REPORT_S)
    assert {key: int(value) for key, value in refused.groupdict().items()} == {
        "nodev": abi("OVM_E_NODEV"),       # no virtual device at that address
        "fault": abi("OVM_E_FAULT"),       # hostdev exists, but is not granted to an SRT VM
        "rx": abi("OVM_E_PERM"),           # console input is the host's
        "unaligned": abi("OVM_E_INVAL"),
        "badreg": abi("OVM_E_INVAL"),
        "read_io": abi("OVM_E_PERM"),      # host-only hypercalls
        "register": abi("OVM_E_PERM"),
    }


def test_nrt_device_access_completes_through_the_host(io_proxy):
    device = io_proxy.transcript.wait_for(
        r"^\[nrt\] nrt: hostdev id=(?P<id_status>-?\d+)/(?P<id>0x[0-9a-f]+) "
        r"scratch=(?P<w>-?\d+)/(?P<r>-?\d+)/(?P<scratch>0x[0-9a-f]+) "
        r"accum=(?P<a>-?\d+)/(?P<accum>\d+) want=(?P<want>\d+) interrupts=(?P<irqs>\d+)$",
        REPORT_S)
    assert int(device["id"], 16) == abi("OVM_HOSTDEV_MAGIC")
    assert int(device["scratch"], 16) == 0x1234ABCD
    assert device["accum"] == device["want"] == "55"
    assert {device[k] for k in ("id_status", "w", "r", "a")} == {"0"}
    # One OVM_VIRQ_IO per answered request: ID, scratch write and read, ten adds, the sum.
    assert int(device["irqs"]) == 14
    timed = io_proxy.transcript.wait_for(
        r"^\[nrt\] nrt: (?P<ok>\d+)/(?P<n>\d+) timed reads right$", REPORT_S)
    assert timed["ok"] == timed["n"] == "100"


def test_nrt_errors_come_from_the_host_or_from_ovm(io_proxy):
    refused = io_proxy.transcript.wait_for(
        r"^\[nrt\] nrt: refused: write_id=(?P<write_id>-?\d+) unknown_reg=(?P<unknown_reg>-?\d+) "
        r"console=(?P<console>-?\d+) timer=(?P<timer>-?\d+) write_io=(?P<write_io>-?\d+)$",
        REPORT_S)
    assert {key: int(value) for key, value in refused.groupdict().items()} == {
        "write_id": abi("OVM_E_PERM"),        # the host's answer: ID is read-only
        "unknown_reg": abi("OVM_E_NODEV"),    # the host models no such register
        "console": abi("OVM_E_FAULT"),        # not granted to this VM
        "timer": abi("OVM_E_FAULT"),
        "write_io": abi("OVM_E_PERM"),        # host-only
    }


def test_every_guest_keeps_running(io_proxy):
    t = io_proxy.transcript
    for vm in ("chatty", "quiet"):
        t.wait_for(rf"^\[{vm}\] {vm}: alive 1$", REPORT_S)
    t.wait_for(r"^\[nrt\] nrt: alive 5 \(\d+ reads\)$", REPORT_S)
    assert "FAULT" not in t.text
