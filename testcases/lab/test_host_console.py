"""The host's command console without QEMU: the lab's side (lab/host_console.py: the
command lines it writes, the replies it reads) and the host guest's own C
(ovm/guests/host/main.c), built for this machine with its hypercalls answered by
host_guest/harness.c, the two driven against each other through a stand-in console."""

from __future__ import annotations

import ctypes
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from lab.firmware.limits import struct_size
from lab.host.console import (
    HC_DONE,
    LINE_MAX,
    HcReply,
    HostConsole,
    HostError,
    HostStats,
    RegisterRefused,
    abi,
    parse_hc,
    parse_info,
    parse_register,
    parse_stats,
    register_command,
    status_name,
)
from lab.target.transcript import ConsoleTimeout

REPO = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("host_guest")


@dataclass(frozen=True)
class Request:
    """The shape of lab.firmware.runtime.runtime_request's result."""

    name: str = "extra"
    guest: str = "hello"
    level: int = 2
    core_mask: int = 0x2
    mem_size: int = 0x100000
    deadline_us: int = 0
    period_us: int = 0
    budget_us: int = 0
    args: tuple[int, int] = (0, 0)
    io: int = 0


# --- The ABI read from hypercall.h --------------------------------------------------------


def test_abi_constants_come_from_the_header():
    assert abi("HC_REGISTER") == 16
    assert abi("OVM_ABI_VERSION") == 4
    assert abi("OVM_IO_HOSTDEV") == 0xFFF10000
    assert abi("OVM_E_BUSY") == -8
    with pytest.raises(LookupError):
        abi("HC_NO_SUCH_CALL")


def test_statuses_are_decoded_to_their_names():
    assert status_name(0) == "OVM_OK"
    assert status_name(-3) == "OVM_E_INVAL"
    assert status_name(-7) == "OVM_E_NOENT"
    assert status_name(-99) == "-99"


def test_struct_sizes_match_the_c_compiler(host_lib):
    assert struct_size("ovm_info") == host_lib.host_sizeof_info()
    assert struct_size("ovm_vm_request") == host_lib.host_sizeof_request() == 68


# --- Command lines --------------------------------------------------------------------------


def test_register_command_nrt_minimal():
    assert register_command(Request()) == (
        "register name=extra guest=hello level=NRT cores=0x2 mem=0x100000"
    )


def test_register_command_srt_with_everything():
    req = Request(name="s2", guest="srt", level=1, core_mask=1, mem_size=2 << 20,
                  deadline_us=1000, period_us=2000, budget_us=300, args=(1000, 0x2ee), io=3)
    assert register_command(req) == (
        "register name=s2 guest=srt level=SRT cores=0x1 mem=0x200000 rt=1000/2000/300 "
        "args=0x3e8,0x2ee io=0x3"
    )


def test_register_command_passes_bad_values_through():
    line = register_command(Request(name="Bad-Name", level=7, core_mask=0x10, mem_size=3))
    assert line == "register name=Bad-Name guest=hello level=7 cores=0x10 mem=0x3"


def test_register_command_empty_name_is_sent_empty():
    assert register_command(Request(name="")).startswith("register name= guest=hello ")


@pytest.mark.parametrize("name", ["two words", "a=b", "tab\there", "nl\n", "\x00"])
def test_register_command_refuses_what_one_line_cannot_carry(name):
    with pytest.raises(ValueError):
        register_command(Request(name=name))


def test_register_command_fits_the_hosts_line():
    req = Request(name="n" * 16, guest="g" * 16, level=1, core_mask=0xFFFFFFFF,
                  mem_size=0xFFFFFFFF, deadline_us=0xFFFFFFFF, period_us=0xFFFFFFFF,
                  budget_us=0xFFFFFFFF, args=(0xFFFFFFFF, 0xFFFFFFFF), io=0xFFFFFFFF)
    assert len(register_command(req)) <= LINE_MAX


# --- Replies ---------------------------------------------------------------------------------

INFO_TEXT = """\
[host] host: vm id=0 name=host level=NRT cores=0x1 mem=0x61100000+0x400000 vcpus=1 io=0x3 registered=0
[chatty] chatty: job 12
[host] host: vm id=1 name=chatty level=SRT cores=0x1 mem=0x61500000+0x200000 vcpus=1 io=0x1 registered=0
[host] host: vm id=4 name=extra level=NRT cores=0x2 mem=0x62000000+0x100000 vcpus=1 io=0x0 registered=1
[ovm] something else
[host] host: vcpu index=0 vm=0 id=0 core=0 state=running jobs=0 misses=0 overruns=0
[host] host: vcpu index=1 vm=1 id=0 core=0 state=waiting jobs=1234 misses=2 overruns=3
[host] host: vcpu index=2 vm=4 id=0 core=1 state=blocked jobs=0 misses=0 overruns=0
[host] host: info ok vms=3 vcpus=3
"""


def test_parse_info_reads_vms_and_vcpus_among_other_lines():
    info = parse_info(INFO_TEXT)
    assert info.names == ("host", "chatty", "extra")
    extra = info.vm("extra")
    assert (extra.id, extra.level, extra.core_mask, extra.mem_base, extra.mem_size,
            extra.vcpus, extra.io, extra.registered) == (
        4, "NRT", 2, 0x62000000, 0x100000, 1, 0, True)
    assert info.vm("host").io == 3 and not info.vm("host").registered
    (vcpu,) = info.vcpus_of("chatty")
    assert (vcpu.index, vcpu.core, vcpu.state, vcpu.jobs, vcpu.misses, vcpu.overruns) == (
        1, 0, "waiting", 1234, 2, 3)
    assert info.vcpus_of("extra")[0].state == "blocked"
    with pytest.raises(KeyError):
        info.vm("nobody")


def test_parse_info_checks_the_counts():
    with pytest.raises(HostError, match="announced 3 VMs and 4 vCPUs"):
        parse_info(INFO_TEXT.replace("vcpus=3\n", "vcpus=4\n"))


def test_parse_info_error_and_missing_line():
    with pytest.raises(HostError, match="OVM_E_FAULT"):
        parse_info("[host] host: info error -4\n")
    with pytest.raises(HostError, match="no final"):
        parse_info(INFO_TEXT.rsplit("[host] host: info", 1)[0])


def test_parse_register():
    assert parse_register("[host] host: register ok vm=5\n", "x") == 5
    with pytest.raises(RegisterRefused) as refused:
        parse_register("[host] host: register error -8\n", "twice")
    assert (refused.value.status, refused.value.status_name, refused.value.name) == (
        -8, "OVM_E_BUSY", "twice")
    assert "OVM_E_BUSY" in str(refused.value) and "'twice'" in str(refused.value)
    with pytest.raises(HostError, match="key 'colour'") as syntax:
        parse_register("[host] host: register error syntax colour\n", "x")
    assert not isinstance(syntax.value, RegisterRefused)
    with pytest.raises(HostError, match="line too long"):
        parse_register("[host] host: error line too long\n", "x")


def test_parse_hc_and_stats():
    reply = parse_hc("[host] host: hc 16 status=-4 r1=0x0 r2=0xdeadbeef r3=0x10\n")
    assert reply == HcReply(16, -4, 0, 0xDEADBEEF, 0x10)
    assert reply.status_name == "OVM_E_FAULT"
    with pytest.raises(HostError):
        parse_hc("[host] host: hc error syntax zz\n")
    assert parse_stats("[host] host: stats served=10 writes=4 errors=1\n") == HostStats(10, 4, 1)
    with pytest.raises(HostError):
        parse_stats("[host] host: error unknown command stats\n")


# --- The host guest's C, on this machine -----------------------------------------------------


@pytest.fixture(scope="module")
def host_lib(tmp_path_factory) -> ctypes.CDLL:
    library = tmp_path_factory.mktemp("hostguest") / "libhostguest.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O1", "-std=c11", "-Wall", "-Wextra", "-Werror",
         "-Wshadow", "-Wstrict-prototypes",
         # The stand-in guest.h first: main.c's "guest.h" is not in its own directory.
         "-I", str(HARNESS), "-I", str(REPO / "ovm/lib/inc"), "-I", str(REPO / "ovm/include"),
         str(REPO / "ovm/guests/host/main.c"), str(REPO / "ovm/guests/lib/console.c"),
         str(REPO / "ovm/lib/format.c"),
         str(HARNESS / "harness.c"), "-o", str(library)],
        check=True,
    )
    lib = ctypes.CDLL(str(library))
    lib.host_run.restype = ctypes.c_char_p
    lib.host_last_request.restype = ctypes.POINTER(OvmVmRequest)
    if not lib.host_addresses_ok():
        pytest.skip("the harness's memory straddles a 4 GiB boundary: 32-bit addresses fail")
    return lib


class OvmVmRequest(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * 16),
        ("guest", ctypes.c_char * 16),
        ("level", ctypes.c_uint32),
        ("core_mask", ctypes.c_uint32),
        ("mem_size", ctypes.c_uint32),
        ("deadline_us", ctypes.c_uint32),
        ("period_us", ctypes.c_uint32),
        ("budget_us", ctypes.c_uint32),
        ("args", ctypes.c_uint32 * 2),
        ("io", ctypes.c_uint32),
    ]


def answers(lib: ctypes.CDLL) -> list[tuple[int, int, int]]:
    count = ctypes.c_uint32.in_dll(lib, "answer_count").value
    vcpus = (ctypes.c_uint32 * 64).in_dll(lib, "answer_vcpu")
    results = (ctypes.c_uint32 * 64).in_dll(lib, "answer_result")
    statuses = (ctypes.c_int32 * 64).in_dll(lib, "answer_status")
    return [(vcpus[i], results[i], statuses[i]) for i in range(count)]


@dataclass
class FakeTranscript:
    text: str = ""
    read_error: Exception | None = None


@dataclass
class HarnessConsole:
    """The console: what is written goes to the host guest, what it prints to the transcript."""

    lib: ctypes.CDLL
    transcript: FakeTranscript
    writes: list[bytes] = field(default_factory=list)

    def write(self, data: bytes) -> int:
        self.writes.append(data)
        self.transcript.text += self.lib.host_run(data).decode()
        return len(data)


@dataclass
class FakeStrategy:
    transcript: FakeTranscript
    console: object
    banner: object = None


@pytest.fixture(scope="module")
def host(host_lib) -> HostConsole:
    transcript = FakeTranscript()
    transcript.text = host_lib.host_run(b"").decode()  # boots: prints ready
    return HostConsole(FakeStrategy(transcript, HarnessConsole(host_lib, transcript)),
                       timeout_s=1.0)


def test_host_prints_ready_with_its_abi(host):
    assert host.wait_ready() == abi("OVM_ABI_VERSION")
    assert host.transcript.text.count("host: ready") == 1


def test_info_round_trip(host, host_lib):
    host_lib.host_info_reset(0)
    host_lib.host_info_vm(b"host", 0, 2, 1, 0x61100000, 0x400000, 1, 3, 0)
    host_lib.host_info_vm(b"chatty", 1, 1, 1, 0x61500000, 0x200000, 1, 1, 0)
    host_lib.host_info_vm(b"sixteen_chars_xx", 4, 9, 2, 0x62000000, 0x100000, 2, 4, 1)
    host_lib.host_info_vcpu(0, 0, 0, 0, 0, 0)
    host_lib.host_info_vcpu(1, 0, 0, 2, 77, 1)
    host_lib.host_info_vcpu(4, 1, 1, 3, 0, 0)
    info = host.info()
    assert info.names == ("host", "chatty", "sixteen_chars_xx")
    odd = info.vm("sixteen_chars_xx")
    assert (odd.id, odd.level, odd.vcpus, odd.io, odd.registered) == (4, "9", 2, 4, True)
    assert [v.state for v in info.vcpus] == ["running", "waiting", "blocked"]
    assert info.vcpus[1].jobs == 77 and info.vcpus[1].misses == 1


def test_info_refused(host, host_lib):
    host_lib.host_info_reset(abi("OVM_E_PERM"))
    with pytest.raises(HostError, match="OVM_E_PERM"):
        host.info()


def test_register_sends_the_request_as_given(host, host_lib):
    host_lib.host_set_register(0, 6)
    req = Request(name="s2", guest="srt", level=1, core_mask=1, mem_size=2 << 20,
                  deadline_us=1000, period_us=2000, budget_us=300, args=(1000, 750), io=3)
    assert host.register(req) == 6
    sent = host_lib.host_last_request().contents
    assert (sent.name, sent.guest, sent.level, sent.core_mask, sent.mem_size) == (
        b"s2", b"srt", 1, 1, 2 << 20)
    assert (sent.deadline_us, sent.period_us, sent.budget_us) == (1000, 2000, 300)
    assert (list(sent.args), sent.io) == ([1000, 750], 3)


def test_register_zeroes_what_is_not_given(host, host_lib):
    host_lib.host_set_register(0, 7)
    host.register(replace(Request(), args=(5, 6), deadline_us=1, period_us=2, budget_us=1))
    assert host.register(Request(name="plain")) == 7
    sent = host_lib.host_last_request().contents
    assert (sent.name, sent.deadline_us, sent.period_us, sent.budget_us, list(sent.args),
            sent.io) == (b"plain", 0, 0, 0, [0, 0], 0)


def test_register_refused_carries_the_status_name(host, host_lib):
    host_lib.host_set_register(abi("OVM_E_BUSY"), 0)
    with pytest.raises(RegisterRefused) as refused:
        host.register(Request(name="twice"))
    assert (refused.value.status_name, refused.value.name) == ("OVM_E_BUSY", "twice")


def test_register_does_not_validate_values(host, host_lib):
    host_lib.host_set_register(abi("OVM_E_INVAL"), 0)
    with pytest.raises(RegisterRefused):
        host.register(Request(name="Bad-Name", level=7, core_mask=0x10, mem_size=3))
    sent = host_lib.host_last_request().contents
    assert (sent.name, sent.level, sent.core_mask, sent.mem_size) == (b"Bad-Name", 7, 0x10, 3)


def test_a_name_too_long_reaches_ovm_without_its_nul(host, host_lib):
    host_lib.host_set_register(abi("OVM_E_INVAL"), 0)
    reply = host.register_line("name=abcdefghijklmnopqrst guest=hello level=NRT cores=2 mem=1")
    assert reply == "register error -3"
    sent = host_lib.host_last_request().contents
    assert bytes(sent)[:16] == b"abcdefghijklmnop"
    assert sent.guest == b"hello"


@pytest.mark.parametrize(
    "words, key",
    [
        ("colour=red", "colour"),
        ("name", "name"),
        ("mem=12k", "mem"),
        ("cores=0x", "cores"),
        ("rt=1/2", "rt"),
        ("rt=1/2/3/4", "rt"),
        ("args=1,2,3", "args"),
        ("level=MRT", "level"),
        ("mem=0x100000000", "mem"),
    ],
)
def test_register_syntax_errors_make_no_hypercall(host, host_lib, words, key):
    calls = ctypes.c_uint32.in_dll(host_lib, "register_calls").value
    assert host.register_line(f"name=x {words}") == f"register error syntax {key}"
    assert ctypes.c_uint32.in_dll(host_lib, "register_calls").value == calls


def test_register_numbers_in_both_bases(host, host_lib):
    host_lib.host_set_register(0, 9)
    assert host.register_line("name=n guest=g level=2 cores=3 mem=1048576 args=7 io=0X4") == (
        "register ok vm=9")
    sent = host_lib.host_last_request().contents
    assert (sent.level, sent.core_mask, sent.mem_size, list(sent.args), sent.io) == (
        2, 3, 1 << 20, [7, 0], 4)


def test_raw_hypercall(host, host_lib):
    host_lib.host_set_other(-3, 1, 0xFFFFFFFF, 0x10)
    reply = host.hypercall(0x7FFFFFFF, 0, -1, 0xABCDEF01)
    assert reply == HcReply(0x7FFFFFFF, -3, 1, 0xFFFFFFFF, 0x10)
    assert ctypes.c_uint32.in_dll(host_lib, "other_index").value == 0x7FFFFFFF
    args = (ctypes.c_uint32 * 3).in_dll(host_lib, "other_args")
    assert list(args) == [0, 0xFFFFFFFF, 0xABCDEF01]


def test_raw_register_and_info_reach_ovm_with_the_arguments_given(host, host_lib):
    assert host.hypercall(abi("HC_REGISTER"), 0x1000, 4, 0).status_name == "OVM_E_INVAL"
    host_lib.host_info_reset(0)
    assert host.hypercall(abi("HC_INFO"), 0x1000, 5, 0).status_name == "OVM_E_INVAL"


def test_hc_syntax(host):
    for line in ("hc 1 2 3", "hc 1 2 3 4 5", "hc x 0 0 0"):
        match, _ = host.command(line, HC_DONE)
        assert "hc error syntax" in match.group(0)


def test_unknown_command_and_long_line(host):
    start = host.send("frobnicate now")
    host.send("x" * 201)
    host.send("y" * 200)  # exactly the limit: a command, unknown
    text = host.transcript.text[start:]
    assert text.splitlines() == [
        "[host] host: error unknown command frobnicate",
        "[host] host: error line too long",
        "[host] host: error unknown command " + "y" * 200,
    ]


def test_carriage_returns_and_empty_lines_are_ignored(host):
    start = len(host.transcript.text)
    host.strategy.console.write(b"\r\n\n  \nstats\r\n")
    assert host.transcript.text[start:].startswith("[host] host: stats served=")


def test_host_device_served_per_vcpu(host, host_lib):
    dev, w = abi("OVM_IO_HOSTDEV"), abi("OVM_IO_REQ_WRITE")
    before = host.stats()
    first = len(answers(host_lib))
    for r1, addr, value in [
        (3, dev + 0x0, 0),              # ID read
        (3 | w, dev + 0x4, 0x1234),     # SCRATCH write
        (5 | w, dev + 0x4, 0x99),       # another vCPU's SCRATCH
        (3, dev + 0x4, 0),              # SCRATCH read
        (3 | w, dev + 0x8, 10),         # ACCUM
        (3 | w, dev + 0x8, 32),
        (3, dev + 0x8, 0),
        (5, dev + 0x8, 0),              # vCPU 5's sum is its own
        (3 | w, dev + 0x0, 1),          # ID write: refused
        (3, dev + 0xC, 0),              # no such register
        (3, 0xFFF00000, 0),             # another device
        (99, dev + 0x0, 0),             # a vCPU index beyond any
    ]:
        host_lib.host_queue_io(r1, addr, value)
    after = host.stats()
    got = answers(host_lib)[first:]
    perm, nodev = abi("OVM_E_PERM"), abi("OVM_E_NODEV")
    assert got == [
        (3, abi("OVM_HOSTDEV_MAGIC"), 0),
        (3, 0, 0),
        (5, 0, 0),
        (3, 0x1234, 0),
        (3, 0, 0),
        (3, 0, 0),
        (3, 42, 0),
        (5, 0, 0),
        (3, 0, perm),
        (3, 0, nodev),
        (3, 0, nodev),
        (99, 0, nodev),
    ]
    assert after == HostStats(before.served + 12, before.writes + 5, before.errors + 4)


def test_raw_read_io_that_takes_a_request_serves_it(host, host_lib):
    first = len(answers(host_lib))
    # Queued while the host sits in its console poll: the hc command takes it first.
    host_lib.host_queue_io(7, abi("OVM_IO_HOSTDEV"), 0)
    reply = host.hypercall(abi("HC_READ_IO"))
    assert reply.status_name in ("OVM_OK", "OVM_E_AGAIN")
    assert answers(host_lib)[first:] == [(7, abi("OVM_HOSTDEV_MAGIC"), 0)]


def test_an_idle_host_sleeps_with_its_virtual_timer_armed(host, host_lib):
    sets = ctypes.c_uint32.in_dll(host_lib, "vtimer_sets")
    before = sets.value
    host.stats()
    assert sets.value > before


def test_replies_before_the_command_are_not_taken_for_its_own(host, host_lib):
    host.transcript.text += "[host] host: register ok vm=3\n"
    host_lib.host_set_register(abi("OVM_E_NOENT"), 0)
    with pytest.raises(RegisterRefused) as refused:
        host.register(Request(name="late", guest="nosuch"))
    assert refused.value.status_name == "OVM_E_NOENT"


def test_no_answer_is_a_console_timeout_with_the_transcript():
    transcript = FakeTranscript("[ovm] booted\n")

    class Deaf:
        def write(self, data: bytes) -> int:
            return len(data)

    host = HostConsole(FakeStrategy(transcript, Deaf()), timeout_s=0.1)
    with pytest.raises(ConsoleTimeout) as timeout:
        host.stats()
    assert "'stats'" in timeout.value.what and "[ovm] booted" in timeout.value.transcript


def test_paced_writes_go_in_chunks():
    transcript = FakeTranscript()
    sent: list[bytes] = []

    class Answering:
        def write(self, data: bytes) -> int:
            sent.append(data)
            if data.endswith(b"\n"):
                transcript.text += "[host] host: register ok vm=4\n"
            return len(data)

    host = HostConsole(FakeStrategy(transcript, Answering()), chunk=16, pace_s=0.001)
    assert host.register_line("name=" + "a" * 30) == "register ok vm=4"
    assert b"".join(sent) == b"register name=" + b"a" * 30 + b"\n"
    assert [len(chunk) for chunk in sent] == [16, 16, 13]


def test_scenario_requests_convert_through_the_firmware_tooling():
    runtime = pytest.importorskip("lab.firmware.runtime")
    from lab.firmware.loader import load_board, load_scenario

    ovm = REPO / "ovm"
    if not (ovm / "scenarios" / "io-proxy.yaml").exists():
        pytest.skip("scenario io-proxy is not there yet")
    board = load_board(ovm, "qemu-vexpress-a9")
    scenario = load_scenario(ovm, "io-proxy", board)
    req = runtime.runtime_request(
        {"name": "extra", "guest": "hello", "level": "NRT", "cores": [1],
         "memory": {"size": "1M"}}, board, scenario)
    assert register_command(req) == (
        "register name=extra guest=hello level=NRT cores=0x2 mem=0x100000")
