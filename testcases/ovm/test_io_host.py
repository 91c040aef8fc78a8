"""OVM's host interface, against both hosts: the bare-metal host guest's command console
over the UART (scenario io-proxy, lab/host/console.py) and a Linux host's /proc/ovm over
its shell, with ovm-hostd serving the NRT guest's device (scenario linux-proxy,
lab/host/linux.py). `info` shows the scenario's VMs as built; `register` starts a VM
from a run-time image and OVM, not the host, refuses every malformed or unschedulable
configuration; hostile raw hypercalls are refused; and through all of it the other
guests keep running. The Linux host's own part comes last: the errno of each refusal,
doorbells against requests served, and its daemon killed and started again.

The tests run in file order on one boot per host: the refusals first, then the VM that
is started, then what may only be refused once it runs."""

from __future__ import annotations

import re
import time
from fractions import Fraction

import pytest

from lab.firmware.io import grant_mask
from lab.firmware.limits import struct_size
from lab.firmware.model import Level
from lab.firmware.runtime import RuntimeRequest
from lab.host.console import (
    HostConsole,
    HostInfo,
    HostInterface,
    RegisterRefused,
    abi,
    register_command,
)
from lab.host.linux import LinuxHostConsole
from lab.linux import under_ovm

pytestmark = pytest.mark.lab

BOOT_S = 30.0
LINUX_BOOT_S = 240.0
COMMAND_S = 20.0
GUEST_S = 30.0
# Each host's scenario: the same guests around it (quiet, nrt; io-proxy adds chatty).
SCENARIOS = {"bare-metal": "io-proxy", "linux": "linux-proxy"}
# The VM the tests start, and the run-time image it runs.
EXTRA = "extra"
MIB = 1 << 20


@pytest.fixture(scope="module", params=list(SCENARIOS))
def host(request, boot_scenario, env, target, tmp_path_factory):
    scenario = SCENARIOS[request.param]
    if request.param == "bare-metal":
        console: HostInterface = HostConsole(boot_scenario(scenario), timeout_s=COMMAND_S)
        console.wait_ready(BOOT_S)
        yield console
        return
    if not under_ovm.linux_files_present():
        pytest.skip("no build/linux-armhf (kernel, busybox, rt-tests): run env/setup.sh")
    transcript = tmp_path_factory.mktemp("linux-host") / "linux-console.txt"
    with under_ovm.linux_under_ovm(target, env.config.get_option("ovm_board"), scenario,
                                   boot_s=LINUX_BOOT_S, transcript=transcript
                                   ) as (strategy, shell):
        console = LinuxHostConsole(strategy, shell, timeout_s=COMMAND_S)
        console.wait_ready(LINUX_BOOT_S)
        yield console


@pytest.fixture(scope="module")
def scenario(host):
    return host.models()[1]


@pytest.fixture(scope="module")
def boot_info(host) -> HostInfo:
    """`info` right after the boot, before any test changed anything."""
    return host.info()


def bare_metal_only(host: HostInterface, why: str) -> HostConsole:
    if not isinstance(host, HostConsole):
        pytest.skip(f"the bare-metal host's {why}; the Linux host has no such command")
    return host


def linux_only(host: HostInterface) -> LinuxHostConsole:
    if not isinstance(host, LinuxHostConsole):
        pytest.skip("the Linux host's /proc/ovm and ovm-hostd")
    return host


def host_vm(scenario) -> str:
    (name,) = [vm.name for vm in scenario.vms if vm.host]
    return name


def layout(info: HostInfo) -> tuple:
    """What `info` says that only a (successful) registration may change."""
    return (info.vms, tuple((v.index, v.vm, v.id, v.core) for v in info.vcpus))


def image(scenario, guest: str):
    for runtime in scenario.runtime:
        if runtime.guest == guest:
            return runtime
    pytest.fail(f"scenario {scenario.name} has no run-time image {guest!r}")


def request(**fields) -> RuntimeRequest:
    """A request as it reaches OVM, without the lab's checks (OVM must make them)."""
    base = dict(name="bad", guest="hello", level=2, core_mask=0x2, mem_size=MIB,
                deadline_us=0, period_us=0, budget_us=0, args=(0, 0), io=0)
    base.update(fields)
    return RuntimeRequest(**base)


def test_host_is_ready_with_the_abi_of_this_tree(host):
    assert host.wait_ready() == abi("OVM_ABI_VERSION")


def test_long_lines_and_bursts_arrive_whole(host):
    """The console's input, unpaced: a line of the host's full 200 characters, and five
    commands in one write, reach the host byte for byte and in order."""
    host = bare_metal_only(host, "console input")
    ping = abi("HC_PING")
    answer = r"^\[host\] host: hc 0 status=0 r1=0x(?P<r1>[0-9a-f]+) "
    digits = 200 - len(f"hc {ping} ") - len(" 0 0")
    line = f"hc {ping} {str(1234567).rjust(digits, '0')} 0 0"
    assert len(line) == 200
    match, _ = host.wait(re.compile(answer, re.MULTILINE), host.send(line),
                         "the answer to a 200-character line")
    assert int(match["r1"], 16) == 1234568
    host.wait(re.compile(r"^\[host\] host: error line too long$", re.MULTILINE),
              host.send(line + "0"), "the host's refusal of a 201-character line")

    start = len(host.transcript.text)
    host.strategy.console.write(b"".join(f"hc {ping} {n} 0 0\n".encode() for n in range(5)))
    host.wait(re.compile(rf"(?:{answer}.*\n(?:.*\n)*?){{5}}", re.MULTILINE), start,
              "five answers to one burst")
    answers = re.findall(answer, host.transcript.text[start:], re.MULTILINE)
    assert [int(r1, 16) for r1 in answers] == [1, 2, 3, 4, 5]


def test_info_lists_the_scenarios_vms(host, boot_info, scenario):
    by_name = {vm.name: vm for vm in boot_info.vms}
    me = host_vm(scenario)
    assert set(by_name) >= {me, "quiet", "nrt"}
    expected = {me: ("NRT", 0x1), "quiet": ("SRT", 0x2), "nrt": ("NRT", 0x2)}
    for name, (level, cores) in expected.items():
        assert (by_name[name].level, by_name[name].core_mask) == (level, cores), name
    # The bare-metal host reaches OVM's console and timer; Linux drives its own devices.
    assert by_name[me].io == (abi("OVM_IO_GRANT_CONSOLE") | abi("OVM_IO_GRANT_TIMER")
                              if isinstance(host, HostConsole) else 0)
    assert by_name["quiet"].io == abi("OVM_IO_GRANT_CONSOLE") | abi("OVM_IO_GRANT_TIMER")
    assert by_name["nrt"].io == abi("OVM_IO_GRANT_HOSTDEV")
    # Everything as the scenario was built: ids in scenario order, memory, grants.
    assert len(boot_info.vms) == len(scenario.vms)
    for index, vm in enumerate(scenario.vms):
        got = by_name[vm.name]
        assert (got.id, got.level, got.core_mask, got.mem_base, got.mem_size, got.vcpus,
                got.io, got.registered) == (
            index, vm.level.value, vm.core_mask, vm.mem_base, vm.memory.size, len(vm.cores),
            grant_mask(vm.io), False), vm.name
        vcpus = boot_info.vcpus_of(vm.name)
        assert [(v.id, v.core) for v in vcpus] == list(enumerate(vm.cores)), vm.name
    assert [v.index for v in boot_info.vcpus] == list(range(len(boot_info.vcpus)))


MALFORMED = {
    "level 7": (request(level=7), "OVM_E_INVAL"),
    "cores 0x10": (request(core_mask=0x10), "OVM_E_INVAL"),
    "no core": (request(core_mask=0), "OVM_E_INVAL"),
    "mem 3": (request(mem_size=3), "OVM_E_INVAL"),
    "mem 0": (request(mem_size=0), "OVM_E_INVAL"),
    "mem beyond the image": (request(mem_size=0x40000000), "OVM_E_INVAL"),
    "bad name": (request(name="Bad-Name"), "OVM_E_INVAL"),
    "empty name": (request(name=""), "OVM_E_INVAL"),
    "name of a scenario VM": (request(name="quiet"), "OVM_E_BUSY"),
    "unknown guest": (request(guest="nosuch"), "OVM_E_NOENT"),
    "deadline after period": (
        request(level=1, guest="srt", core_mask=0x2, deadline_us=2000, period_us=1000,
                budget_us=100, args=(1000, 50)), "OVM_E_INVAL"),
    "budget over deadline": (
        request(level=1, guest="srt", core_mask=0x2, deadline_us=500, period_us=1000,
                budget_us=600, args=(1000, 50)), "OVM_E_INVAL"),
    "rt on an NRT": (
        request(deadline_us=1000, period_us=1000, budget_us=100), "OVM_E_INVAL"),
}


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_ovm_refuses_malformed_configurations(host, boot_info, case):
    req, status = MALFORMED[case]
    with pytest.raises(RegisterRefused) as refused:
        host.register(req)
    assert refused.value.status_name == status
    assert layout(host.info()) == layout(boot_info)


def test_a_name_longer_than_the_field_is_refused(host, boot_info):
    # 16 characters: the host sends them without the NUL; OVM must not read past.
    reply = host.register_line("name=abcdefghijklmnopq guest=hello level=NRT cores=0x2 mem=0x100000")
    assert reply == f"register error {abi('OVM_E_INVAL')}"
    assert layout(host.info()) == layout(boot_info)


@pytest.mark.parametrize("words, key", [
    ("name=x guest=hello level=NRT cores=0x2 mem=0x100000 colour=red", "colour"),
    ("name=x guest=hello level=NRT cores=two mem=0x100000", "cores"),
    ("name=x guest=hello level=NRT cores=0x2 mem=0x100000 rt=1/2", "rt"),
    ("name=x guest=hello level=NRT cores=0x2 mem=0x100000 args=1,2,3", "args"),
], ids=["unknown key", "not a number", "rt of two", "three args"])
def test_lines_the_host_cannot_parse_are_refused_before_ovm(host, boot_info, words, key):
    assert host.register_line(words) == f"register error syntax {key}"
    assert layout(host.info()) == layout(boot_info)


def core_load(scenario, core: int) -> Fraction:
    return sum(
        (Fraction(vm.realtime.budget_us, vm.realtime.period_us) for vm in scenario.vms
         if vm.level is Level.SRT and vm.realtime and core in vm.cores),
        Fraction(0),
    )


def test_an_unschedulable_srt_is_refused(host, boot_info, scenario):
    core = max(range(2), key=lambda c: core_load(scenario, c))
    load = core_load(scenario, core)
    if load == 0:
        pytest.skip(f"no SRT reservation on either core of {SCENARIO}: nothing to overload")
    period = 1000
    budget = min(period, int((1 - load) * period) + 100)
    with pytest.raises(RegisterRefused) as refused:
        host.register(request(name="greedy", guest="srt", level=1, core_mask=1 << core,
                              mem_size=MIB, deadline_us=period, period_us=period,
                              budget_us=budget, args=(period, budget // 2)))
    assert refused.value.status_name == "OVM_E_OVERLOAD"
    assert layout(host.info()) == layout(boot_info)


def test_an_hrt_vm_on_a_busy_core_is_refused(host, boot_info):
    with pytest.raises(RegisterRefused) as refused:
        host.register(request(name="hard", level=0, core_mask=0x2, mem_size=MIB))
    assert refused.value.status_name == "OVM_E_OVERLOAD"
    assert layout(host.info()) == layout(boot_info)


def test_register_starts_a_vm_from_a_runtime_image(host, boot_info, scenario):
    hello = image(scenario, "hello")
    mark = len(host.transcript.text)
    vm_id = host.register({"name": EXTRA, "guest": "hello", "level": "NRT", "cores": [1],
                           "memory": {"size": "1M"}})
    assert vm_id == len(scenario.vms) + scenario.runtime.index(hello)
    t = host.transcript
    after = re.compile(rf"^\[{EXTRA}\] vcpu0 of 1 running non-secure on core 1$", re.MULTILINE)
    host.wait(after, mark, "the registered VM's first line", GUEST_S)
    host.wait(re.compile(rf"^\[{EXTRA}\] core 1: smc round trip 3/3 ok$", re.MULTILINE), mark,
              "the registered VM's round trips", GUEST_S)
    info = host.info()
    extra = info.vm(EXTRA)
    assert (extra.id, extra.level, extra.core_mask, extra.mem_base, extra.mem_size, extra.vcpus,
            extra.io, extra.registered) == (
        vm_id, "NRT", 0x2, hello.memory.base, MIB, 1, 0, True)
    (vcpu,) = info.vcpus_of(EXTRA)
    assert vcpu.core == 1
    # The scenario's VMs and vCPUs are untouched; the new one comes after them.
    assert info.vms[: len(boot_info.vms)] == boot_info.vms
    assert layout(info)[1][: len(boot_info.vcpus)] == layout(boot_info)[1]
    assert "FAULT" not in t.text


def test_registering_again_is_busy(host):
    before = layout(host.info())
    again = {"name": EXTRA, "guest": "hello", "level": "NRT", "cores": [1],
             "memory": {"size": "1M"}}
    with pytest.raises(RegisterRefused) as same_name:
        host.register(again)
    assert same_name.value.status_name == "OVM_E_BUSY"
    with pytest.raises(RegisterRefused) as same_image:
        host.register({**again, "name": "extra2"})
    assert same_image.value.status_name == "OVM_E_BUSY"
    assert layout(host.info()) == before


def vcpu_index(info: HostInfo, name: str) -> int:
    return info.vcpus_of(name)[0].index


def test_hostile_raw_hypercalls_are_refused(host):
    host = bare_metal_only(host, "raw `hc` command")
    info = host.info()
    me = info.vm("host")
    info_size = struct_size("ovm_info")
    request_size = struct_size("ovm_vm_request")
    end = me.mem_base + me.mem_size
    hc = {name: abi(f"HC_{name}") for name in ("REGISTER", "INFO", "WRITE_IO", "READ_IO")}
    cases = [
        ("register at 0", (hc["REGISTER"], 0, request_size, 0), {"OVM_E_FAULT"}),
        ("register wrong size", (hc["REGISTER"], me.mem_base, 4, 0), {"OVM_E_INVAL"}),
        ("register one byte long", (hc["REGISTER"], me.mem_base, request_size + 1, 0),
         {"OVM_E_INVAL"}),
        ("register across the end", (hc["REGISTER"], end - 16, request_size, 0),
         {"OVM_E_FAULT"}),
        ("register wrapping", (hc["REGISTER"], 0xFFFFFFF0, request_size, 0), {"OVM_E_FAULT"}),
        ("info outside", (hc["INFO"], 0x100, info_size, 0), {"OVM_E_FAULT"}),
        ("info across the end", (hc["INFO"], end - 64, info_size, 0), {"OVM_E_FAULT"}),
        ("info wrapping", (hc["INFO"], 0xFFFFFF00, info_size, 0), {"OVM_E_FAULT"}),
        ("info in OVM's memory", (hc["INFO"], me.mem_base - MIB, info_size, 0),
         {"OVM_E_FAULT"}),
        ("write_io vcpu 999", (hc["WRITE_IO"], 999, 0, 0), {"OVM_E_INVAL"}),
        ("write_io vcpu -1", (hc["WRITE_IO"], 0xFFFFFFFF, 0, 0), {"OVM_E_INVAL"}),
        ("write_io to an SRT, never waiting",
         (hc["WRITE_IO"], vcpu_index(info, "chatty"), 0, 0), {"OVM_E_NOENT"}),
        ("write_io to the host itself", (hc["WRITE_IO"], vcpu_index(info, "host"), 0, 0),
         {"OVM_E_NOENT"}),
        ("read_io when idle", (hc["READ_IO"], 0, 0, 0), {"OVM_E_AGAIN", "OVM_OK"}),
        ("no such hypercall", (0x7FFFFFFF, 0, 0, 0), {"OVM_E_NOSYS"}),
        ("one past the last", (abi("HC_COUNT"), 0, 0, 0), {"OVM_E_NOSYS"}),
    ]
    got = {name: host.hypercall(*args).status_name for name, args, _ in cases}
    wrong = {name: (got[name], sorted(want)) for name, _, want in cases if got[name] not in want}
    assert not wrong


def test_the_host_emulates_the_nrt_guests_device(host):
    """io_nrt's own check of the device the host emulates: ID, SCRATCH, ACCUM, and the
    refusals the host answers (a write to ID, a register that is not there)."""
    t = host.transcript
    device = host.wait(re.compile(
        r"^\[nrt\] nrt: hostdev id=(?P<id_status>-?\d+)/0x(?P<id>[0-9a-f]+) "
        r"scratch=(?P<sw>-?\d+)/(?P<sr>-?\d+)/0x(?P<scratch>[0-9a-f]+) "
        r"accum=(?P<accum_status>-?\d+)/(?P<accum>\d+) want=(?P<want>\d+) ",
        re.MULTILINE), 0, "io_nrt's hostdev line", GUEST_S)[0]
    assert int(device["id_status"]) == 0 and int(device["id"], 16) == abi("OVM_HOSTDEV_MAGIC")
    assert (int(device["sw"]), int(device["sr"]), int(device["scratch"], 16)) == (
        0, 0, 0x1234ABCD)
    assert int(device["accum_status"]) == 0 and device["accum"] == device["want"] == "55"
    refused = host.wait(re.compile(
        r"^\[nrt\] nrt: refused: write_id=(?P<write_id>-?\d+) unknown_reg=(?P<unknown>-?\d+) ",
        re.MULTILINE), 0, "io_nrt's refusals", GUEST_S)[0]
    assert (int(refused["write_id"]), int(refused["unknown"])) == (
        abi("OVM_E_PERM"), abi("OVM_E_NODEV"))
    assert "[host] host: io error" not in t.text
    # The answers the host gave, as it counted them: 12 writes (SCRATCH, 10 ACCUM, ID), of
    # the answers two errors (the write to ID, the unknown register).
    stats = host.stats()
    assert stats.errors == 2
    # linux-proxy's nrt goes on writing ACCUM in its loop; io-proxy's only reads.
    assert stats.writes == 12 if isinstance(host, HostConsole) else stats.writes >= 12


# Lines the guests print for as long as they run (ovm/guests/io_srt, io_nrt).
ALIVE = {
    "chatty": r"^\[chatty\] chatty: alive \d+$",
    "quiet": r"^\[quiet\] quiet: alive \d+$",
    "nrt": r"^\[nrt\] nrt: alive \d+ \(\d+ reads\)$",
}


def test_everything_still_runs(host, boot_info, scenario):
    t = host.transcript
    first, before = host.stats(), host.info()
    mark = len(t.text)
    for name, pattern in ALIVE.items():
        if name in before.names:
            host.wait(re.compile(pattern, re.MULTILINE), mark,
                      f"a new 'alive' line from {name}", GUEST_S)
    info = host.info()
    assert set(info.names) == {vm.name for vm in scenario.vms} | {EXTRA}
    assert layout(info)[1][: len(boot_info.vcpus)] == layout(boot_info)[1]
    # The nrt guest's host-device requests are still being served, and the SRT jobs go on
    # without a miss since the boot: registering (and refusing) VMs held up no core. Not
    # beside Linux on QEMU: while Linux runs, QEMU's round robin between its two emulated
    # cores (-icount) holds core 1 for up to milliseconds of virtual time (docs/linux-host.md),
    # and quiet's jobs overrun there as they do in the boot; OVM counts each.
    assert host.stats().served > first.served
    for name in sorted({"chatty", "quiet"} & set(info.names)):
        (boot,) = boot_info.vcpus_of(name)
        (then,) = before.vcpus_of(name)
        (now,) = info.vcpus_of(name)
        assert now.jobs > then.jobs, name
        if isinstance(host, HostConsole):
            assert now.misses == boot.misses, (name, boot, now)
        else:
            assert now.misses >= boot.misses and now.overruns >= boot.overruns, (boot, now)
    assert "FAULT" not in t.text


# --- The Linux host's own: errnos, the doorbell, its daemon's death -------------------------

ERRNOS = {
    "name in use": (dict(name="quiet"), "OVM_E_BUSY", "Device or resource busy"),
    "unknown guest": (dict(guest="nosuch"), "OVM_E_NOENT", "No such file or directory"),
    "level 7": (dict(level=7), "OVM_E_INVAL", "Invalid argument"),
    "hrt on a busy core": (dict(level=0, guest="srt"), "OVM_E_OVERLOAD", "No space left on device"),
}


@pytest.mark.parametrize("case", list(ERRNOS), ids=list(ERRNOS))
def test_proc_ovm_refusals_are_errors_of_write(host, case):
    """Each refusal fails write() with the errno documented for OVM's status (ovm.c), the
    module records the status by name, and nothing changes."""
    linux = linux_only(host)
    before = layout(linux.info())
    fields, status, errno_text = ERRNOS[case]
    line = register_command(request(**fields)).removeprefix("register ")
    assert linux.write_errno(line) == errno_text
    assert linux.read().last_register == f"error {status}"
    assert layout(host.info()) == before


def interrupts_taken(linux: LinuxHostConsole, name: str) -> int:
    """The kernel's own count of an interrupt (/proc/interrupts), by its action's name."""
    (line,) = [line for line in linux.shell.run(f"grep {name} /proc/interrupts")[0]
               if line.rstrip().endswith(name)]
    return int(line.split()[1])


def test_requests_are_served_by_doorbell(host):
    """Every request the module took came with a doorbell, and the kernel counted each
    doorbell as an interrupt: the daemon sleeps until OVM rings, it does not poll."""
    linux = linux_only(host)
    before = linux.read().io
    kernel_count = interrupts_taken(linux, "ovm-doorbell")
    after = linux.read().io
    assert after.served > before.served > 0
    for io in (before, after):
        # At most one request in flight: nrt waits for each answer.
        assert io.served <= io.taken <= io.doorbells <= io.served + 1, io
        assert io.requeued == 0
    assert before.doorbells <= kernel_count <= after.doorbells


# How long a daemon told to exit may take to do so, and its status then (ovm-hostd.c).
DAEMON_S = 10
DAEMON_EXIT = 3
ACCUM = re.compile(r"^\[nrt\] nrt: accum (?P<accum>\d+) mismatches (?P<mismatches>\d+)$",
                   re.MULTILINE)


def nrt_alive_lines(host: HostInterface) -> int:
    return len(re.findall(ALIVE["nrt"], host.transcript.text, re.MULTILINE))


def test_a_killed_daemon_loses_no_request(host, scenario):
    """The daemon killed: the NRT guest waits. A daemon that dies right after taking a
    request, one that dies right after applying an ACCUM write, then one that stays: the
    guest goes on, every request answered once (nrt checks each ACCUM step is exactly +1)."""
    linux = linux_only(host)
    shell = linux.shell
    nrt = next(vcpu.index for vcpu in linux.info().vcpus_of("nrt"))
    shell.run_check("kill -9 $(pidof ovm-hostd)")
    time.sleep(1.0)
    waiting = nrt_alive_lines(host)
    time.sleep(2.0)
    assert nrt_alive_lines(host) == waiting, "nrt went on without a daemon"
    proc = linux.read()
    assert proc.info.vcpus[nrt].state == "blocked"
    before = proc.io

    for option in ("--exit-after-take", "--exit-after-apply"):
        output, _ = shell.run(f"timeout {DAEMON_S} ovm-hostd {option} 1; echo status=$?; "
                              "cat /proc/ovm /proc/interrupts", timeout=COMMAND_S)
        assert f"status={DAEMON_EXIT}" in output, (option, "\n".join(output))
    after_deaths = linux.read().io
    # The daemon killed may or may not have held a request; each --exit one did.
    assert after_deaths.requeued >= before.requeued + 2

    mark = len(host.transcript.text)
    shell.run_check("setsid ovm-hostd >/tmp/ovm-hostd.log 2>&1 </dev/null &")
    accum = host.wait(ACCUM, mark, "nrt's accum line with a daemon again", GUEST_S)[0]
    # Lines of a catch-up come first (the loop prints one per 100 ms it was away): the
    # first line of new steps says the guest is served again.
    grown = re.compile(ACCUM.pattern.replace(r"(?P<accum>\d+)", rf"(?P<accum>(?!{accum['accum']} )\d+)"),
                       re.MULTILINE)
    later = host.wait(grown, accum.end(), "nrt's accum grown", GUEST_S)[0]
    assert int(accum["mismatches"]) == int(later["mismatches"]) == 0
    assert int(later["accum"]) > int(accum["accum"])
    io = linux.read().io
    assert io.served > after_deaths.served
    assert io.served <= io.taken <= io.served + 1
    assert linux.read().info.vcpus[nrt].state in {"running", "runnable", "blocked"}
    assert "FAULT" not in host.transcript.text
