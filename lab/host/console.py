"""Driving OVM's host: ``HostInterface``, what the lab asks of either host, and
``HostConsole``, the bare-metal management guest (ovm/guests/host) over OVM's console.
A Linux host's ``/proc/ovm`` is ``lab.host.linux.LinuxHostConsole``.

The host reads the console's input through OVM (HC_INPUT on the console), runs
one command per line and answers with lines that OVM prints as
``[host] host: ...``; each command ends with one final line that names it, so
the lab knows it is done:

=========================================  ==============================================
command                                    final reply line
=========================================  ==============================================
``info``                                   ``host: info ok vms=<n> vcpus=<n>`` after one
                                           ``host: vm ...`` line per VM and one
                                           ``host: vcpu ...`` per vCPU; or
                                           ``host: info error <status>``
``register key=value ...``                 ``host: register ok vm=<id>``,
                                           ``host: register error <status>`` or
                                           ``host: register error syntax <key>``
``hc <index> <a1> <a2> <a3>``              ``host: hc <index> status=<s> r1=0x.. r2=0x.. r3=0x..``
                                           or ``host: hc error syntax ...``
``stats``                                  ``host: stats served=<n> writes=<n> errors=<n>``
anything else                              ``host: error unknown command <word>``;
                                           ``host: error line too long`` (over 200 characters)
=========================================  ==============================================

``HostConsole`` sends one command at a time through the console an
``OVMStrategy`` holds and waits in its transcript for the final line, looking
only at what was printed after the command went out. Statuses are OVM's
(``enum ovm_status`` in ovm/include/ovm/hypercall.h, read from there).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from lab.firmware.limits import HYPERCALL_H, header_constants
from lab.firmware.loader import load_board, load_scenario
from lab.firmware.model import Board, Scenario
from lab.firmware.runtime import runtime_request
from lab.target.transcript import ConsoleTimeout, ConsoleTranscript

# How long one command may take: the host answers at once, but it shares its core.
DEFAULT_TIMEOUT_S = 10.0
# The host discards a line longer than this.
LINE_MAX = 200
LEVEL_NAMES = ("HRT", "SRT", "NRT")
_POLL_S = 0.02


# --- The ABI, from hypercall.h ------------------------------------------------------------


def abi(name: str) -> int:
    """One constant of hypercall.h: ``abi("HC_REGISTER")``, ``abi("OVM_E_BUSY")``."""
    try:
        return header_constants(HYPERCALL_H)[name]
    except KeyError:
        raise LookupError(f"{HYPERCALL_H}: no constant {name}") from None


@cache
def status_names() -> dict[int, str]:
    """OVM's statuses by value: 0 -> OVM_OK, -3 -> OVM_E_INVAL, ..."""
    return {
        value: name
        for name, value in header_constants(HYPERCALL_H).items()
        if name == "OVM_OK" or name.startswith("OVM_E_")
    }


def status_name(status: int) -> str:
    """``OVM_E_INVAL`` for -3; an unknown status as its number."""
    return status_names().get(status, str(status))


# --- Replies ----------------------------------------------------------------------------------


class HostError(Exception):
    """The host answered a command with an error, or with something the lab cannot read."""


class RegisterRefused(HostError):
    """OVM refused a VM that the host asked it to register."""

    def __init__(self, status: int, name: str) -> None:
        self.status = status
        self.status_name = status_name(status)
        self.name = name
        super().__init__(
            f"OVM refused to register VM {name!r}: {self.status_name} ({status})"
        )


@dataclass(frozen=True)
class HostVm:
    id: int
    name: str
    level: str  # HRT, SRT, NRT (a number if OVM reported another)
    core_mask: int
    mem_base: int
    mem_size: int
    vcpus: int
    io: int
    registered: bool


@dataclass(frozen=True)
class HostVcpu:
    index: int
    vm: int
    id: int
    core: int
    state: str  # running, runnable, waiting, blocked, throttled, halted
    jobs: int
    misses: int
    # Jobs throttled for using up their period's budget (SRT).
    overruns: int = 0


@dataclass(frozen=True)
class HostInfo:
    vms: tuple[HostVm, ...]
    vcpus: tuple[HostVcpu, ...]

    def vm(self, name: str) -> HostVm:
        for vm in self.vms:
            if vm.name == name:
                return vm
        raise KeyError(f"no VM {name!r} in {[vm.name for vm in self.vms]}")

    def vcpus_of(self, name: str) -> tuple[HostVcpu, ...]:
        vm_id = self.vm(name).id
        return tuple(vcpu for vcpu in self.vcpus if vcpu.vm == vm_id)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(vm.name for vm in self.vms)


@dataclass(frozen=True)
class HcReply:
    index: int
    status: int
    r1: int
    r2: int
    r3: int

    @property
    def status_name(self) -> str:
        return status_name(self.status)


@dataclass(frozen=True)
class HostStats:
    served: int
    writes: int
    errors: int


_PREFIX = r"^\[host\] host: "
READY = re.compile(_PREFIX + r"ready abi=(?P<abi>\d+)$", re.MULTILINE)
_GENERIC_ERROR = r"error (?:unknown command \S*|line too long|too many words)"


def vm_line(prefix: str) -> re.Pattern[str]:
    """A ``vm`` record after ``prefix``: the bare-metal host's line, and /proc/ovm's."""
    return re.compile(
        prefix + r"vm id=(?P<id>\d+) name=(?P<name>\S*) level=(?P<level>\w+) "
        r"cores=0x(?P<cores>[0-9a-f]+) mem=0x(?P<base>[0-9a-f]+)\+0x(?P<size>[0-9a-f]+) "
        r"vcpus=(?P<vcpus>\d+) io=0x(?P<io>[0-9a-f]+) registered=(?P<registered>[01])$",
        re.MULTILINE,
    )


def vcpu_line(prefix: str) -> re.Pattern[str]:
    """A ``vcpu`` record after ``prefix``; /proc/ovm's has more fields after these."""
    return re.compile(
        prefix + r"vcpu index=(?P<index>\d+) vm=(?P<vm>\d+) id=(?P<id>\d+) "
        r"core=(?P<core>\d+) state=(?P<state>\w+) jobs=(?P<jobs>\d+) misses=(?P<misses>\d+) "
        r"overruns=(?P<overruns>\d+)(?: \w+=\S*)*$",
        re.MULTILINE,
    )


_VM_LINE = vm_line(_PREFIX)
_VCPU_LINE = vcpu_line(_PREFIX)
INFO_DONE = re.compile(
    _PREFIX + r"(?:info (?:ok vms=(?P<vms>\d+) vcpus=(?P<vcpus>\d+)|error (?P<status>-?\d+))"
    rf"|{_GENERIC_ERROR})$",
    re.MULTILINE,
)
REGISTER_DONE = re.compile(
    _PREFIX + r"(?:register (?:ok vm=(?P<vm>\d+)|error syntax (?P<key>\S*)"
    rf"|error (?P<status>-?\d+))|{_GENERIC_ERROR})$",
    re.MULTILINE,
)
HC_DONE = re.compile(
    _PREFIX + r"(?:hc (?:(?P<index>\d+) status=(?P<status>-?\d+) r1=0x(?P<r1>[0-9a-f]+) "
    r"r2=0x(?P<r2>[0-9a-f]+) r3=0x(?P<r3>[0-9a-f]+)|error (?P<error>.*))"
    rf"|{_GENERIC_ERROR})$",
    re.MULTILINE,
)
STATS_DONE = re.compile(
    _PREFIX + r"(?:stats served=(?P<served>\d+) writes=(?P<writes>\d+) errors=(?P<errors>\d+)"
    rf"|{_GENERIC_ERROR})$",
    re.MULTILINE,
)


def _reply(match: re.Match[str]) -> str:
    """The reply without OVM's prefix: ``register ok vm=5``."""
    return match.group(0).split("host: ", 1)[1]


def _check_generic(match: re.Match[str], command: str) -> None:
    reply = _reply(match)
    if reply.startswith("error "):
        raise HostError(f"host answered {command!r} with {reply!r}")


def parse_info(text: str) -> HostInfo:
    """The result of ``info`` from console text holding its reply lines (and any others)."""
    done = INFO_DONE.search(text)
    if done is None:
        raise HostError("no final 'host: info' line in the text")
    _check_generic(done, "info")
    if done["status"] is not None:
        status = int(done["status"])
        raise HostError(f"host: info refused by OVM: {status_name(status)} ({status})")
    info = info_records(text[: done.start()], _VM_LINE, _VCPU_LINE)
    counts = (int(done["vms"]), int(done["vcpus"]))
    if (len(info.vms), len(info.vcpus)) != counts:
        raise HostError(
            f"host: info announced {counts[0]} VMs and {counts[1]} vCPUs, "
            f"its lines list {len(info.vms)} and {len(info.vcpus)}"
        )
    return info


def info_records(body: str, vm_pattern: re.Pattern[str], vcpu_pattern: re.Pattern[str]
                 ) -> HostInfo:
    """The vm and vcpu records of ``body``, in their order."""
    vms = tuple(
        HostVm(
            id=int(m["id"]),
            name=m["name"],
            level=m["level"],
            core_mask=int(m["cores"], 16),
            mem_base=int(m["base"], 16),
            mem_size=int(m["size"], 16),
            vcpus=int(m["vcpus"]),
            io=int(m["io"], 16),
            registered=m["registered"] == "1",
        )
        for m in vm_pattern.finditer(body)
    )
    vcpus = tuple(
        HostVcpu(
            index=int(m["index"]),
            vm=int(m["vm"]),
            id=int(m["id"]),
            core=int(m["core"]),
            state=m["state"],
            jobs=int(m["jobs"]),
            misses=int(m["misses"]),
            overruns=int(m["overruns"]),
        )
        for m in vcpu_pattern.finditer(body)
    )
    return HostInfo(vms=vms, vcpus=vcpus)


_REGISTER_REPLY = re.compile(
    r"register (?:ok vm=(?P<vm>\d+)|error syntax (?P<key>\S*)|error (?P<status>-?\d+))$")


def parse_register(text: str, name: str) -> int:
    """The new VM's id from a ``register`` reply; RegisterRefused if OVM refused it."""
    done = REGISTER_DONE.search(text)
    if done is None:
        raise HostError("no final 'host: register' line in the text")
    _check_generic(done, "register")
    return register_result(_reply(done), name)


def register_result(reply: str, name: str) -> int:
    """The new VM's id from a final ``register`` reply (``register ok vm=5``, ``register error
    -8``, ``register error syntax <key>``), whichever host gave it."""
    done = _REGISTER_REPLY.fullmatch(reply)
    if done is None:
        raise HostError(f"not a register reply: {reply!r}")
    if done["key"] is not None:
        raise HostError(f"host could not parse its register command at key {done['key']!r}")
    if done["status"] is not None:
        raise RegisterRefused(int(done["status"]), name)
    return int(done["vm"])


def parse_hc(text: str) -> HcReply:
    done = HC_DONE.search(text)
    if done is None:
        raise HostError("no final 'host: hc' line in the text")
    _check_generic(done, "hc")
    if done["error"] is not None:
        raise HostError(f"host could not parse its hc command: {done['error']}")
    return HcReply(
        index=int(done["index"]),
        status=int(done["status"]),
        r1=int(done["r1"], 16),
        r2=int(done["r2"], 16),
        r3=int(done["r3"], 16),
    )


def parse_stats(text: str) -> HostStats:
    done = STATS_DONE.search(text)
    if done is None:
        raise HostError("no final 'host: stats' line in the text")
    _check_generic(done, "stats")
    return HostStats(int(done["served"]), int(done["writes"]), int(done["errors"]))


# --- Requests ---------------------------------------------------------------------------------


class VmRequest(Protocol):
    """What ``lab.firmware.runtime.runtime_request`` returns: struct ovm_vm_request's fields."""

    @property
    def name(self) -> str: ...
    @property
    def guest(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def core_mask(self) -> int: ...
    @property
    def mem_size(self) -> int: ...
    @property
    def deadline_us(self) -> int: ...
    @property
    def period_us(self) -> int: ...
    @property
    def budget_us(self) -> int: ...
    @property
    def args(self) -> tuple[int, ...]: ...
    @property
    def io(self) -> int: ...


def _word(text: str, what: str) -> str:
    """A value as one word of the line; empty is one too (``name=``: OVM gets "")."""
    if any(c.isspace() or c == "=" or not c.isprintable() for c in text):
        raise ValueError(f"{what} {text!r} cannot be written on the host's command line")
    return text


def _u32(value: int, what: str) -> int:
    if not -(1 << 31) <= value < (1 << 32):
        raise ValueError(f"{what} {value} does not fit 32 bits")
    return value & 0xFFFFFFFF


def register_command(req: VmRequest) -> str:
    """The host's ``register`` line for a request, values as they are (OVM judges them)."""
    level = LEVEL_NAMES[req.level] if 0 <= req.level < len(LEVEL_NAMES) else str(req.level)
    words = [
        "register",
        f"name={_word(req.name, 'VM name')}",
        f"guest={_word(req.guest, 'guest')}",
        f"level={level}",
        f"cores=0x{_u32(req.core_mask, 'cores'):x}",
        f"mem=0x{_u32(req.mem_size, 'mem'):x}",
    ]
    rt = (req.deadline_us, req.period_us, req.budget_us)
    if any(rt):
        words.append("rt=" + "/".join(str(_u32(v, "rt")) for v in rt))
    args = tuple(req.args)
    if len(args) > 2:
        raise ValueError(f"at most 2 guest arguments, got {len(args)}")
    if any(args):
        words.append("args=" + ",".join(f"0x{_u32(v, 'args'):x}" for v in args))
    if req.io:
        words.append(f"io=0x{_u32(req.io, 'io'):x}")
    return " ".join(words)


# --- The driver -------------------------------------------------------------------------------


class HostStrategy(Protocol):
    """What HostConsole needs of an OVMStrategy."""

    transcript: ConsoleTranscript | None
    console: Any
    banner: Any


class HostInterface:
    """What the lab asks of OVM's host, whichever host it is: ``info``, ``register`` and
    ``stats`` with the same results, and the wait for lines in OVM's console (every guest's
    lines). ``HostConsole`` is the bare-metal host guest's command console,
    ``lab.host.linux.LinuxHostConsole`` a Linux host's /proc/ovm.

    ``board``/``scenario``: the firmware models ``register`` converts a scenario-format
    mapping with (loaded from the boot banner's names when not given).
    """

    # Which host this drives, for messages and test ids.
    kind = "host"

    def __init__(
        self,
        strategy: HostStrategy,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        board: Board | None = None,
        scenario: Scenario | None = None,
    ) -> None:
        self.strategy = strategy
        self.timeout_s = timeout_s
        self._board = board
        self._scenario = scenario

    @property
    def transcript(self) -> ConsoleTranscript:
        """OVM's console."""
        transcript = self.strategy.transcript
        if transcript is None:
            raise HostError("OVM is not running: the strategy has no console transcript")
        return transcript

    def wait(
        self, pattern: re.Pattern[str], start: int, what: str, timeout_s: float | None = None
    ) -> tuple[re.Match[str], str]:
        """The first match of ``pattern`` in complete lines of OVM's console printed after
        ``start``, and the text from ``start`` to its end (which holds a command's earlier
        reply lines)."""
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        transcript = self.transcript
        deadline = time.monotonic() + timeout_s
        while True:
            text = transcript.text
            match = pattern.search(text, start, text.rfind("\n") + 1)
            if match:
                return match, text[start : match.end()]
            if time.monotonic() >= deadline or transcript.read_error is not None:
                raise ConsoleTimeout(what, timeout_s, transcript.text)
            time.sleep(_POLL_S)

    def wait_ready(self, timeout_s: float | None = None) -> int:
        """Wait until the host takes commands; returns OVM's ABI version as it reports it."""
        raise NotImplementedError

    def info(self) -> HostInfo:
        raise NotImplementedError

    def register_line(self, text: str) -> str:
        """``register <text>`` as given; returns the final reply in the bare-metal host's
        words: ``register ok vm=5``, ``register error <status>``, ``register error syntax
        <key>``."""
        raise NotImplementedError

    def stats(self) -> HostStats:
        raise NotImplementedError

    def register(self, request: Mapping[str, Any] | VmRequest) -> int:
        """Register a VM given in the scenario format (or as a converted request): its id.

        Raises RegisterRefused with OVM's status when OVM refuses it.
        """
        req = self.runtime_request(request) if isinstance(request, Mapping) else request
        return register_result(self.register_line(register_command(req).removeprefix("register ")),
                               req.name)

    # The scenario-format conversion.

    def runtime_request(self, doc: Mapping[str, Any]) -> VmRequest:
        board, scenario = self.models()
        return runtime_request(doc, board, scenario)

    def models(self) -> tuple[Board, Scenario]:
        """The firmware's Board and Scenario of what runs (loaded once, by the banner's names)."""
        if self._board is None or self._scenario is None:
            banner = self.strategy.banner
            if banner is None:
                raise HostError("OVM is not running: no boot banner names board and scenario")
            ovm_root = HYPERCALL_H.parents[2]
            if self._board is None:
                self._board = load_board(ovm_root, banner.board)
            if self._scenario is None:
                self._scenario = load_scenario(ovm_root, banner.scenario, self._board)
        return self._board, self._scenario


class HostConsole(HostInterface):
    """The bare-metal host guest: one command at a time, each answered from OVM's console.

    ``chunk``/``pace_s``: the line goes out in chunks of ``chunk`` bytes with
    ``pace_s`` between them (0: at once; QEMU's UART holds back what its FIFO
    cannot take, so nothing is lost there).
    """

    kind = "bare-metal"

    def __init__(
        self,
        strategy: HostStrategy,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        chunk: int = 16,
        pace_s: float = 0.0,
        board: Board | None = None,
        scenario: Scenario | None = None,
    ) -> None:
        super().__init__(strategy, timeout_s=timeout_s, board=board, scenario=scenario)
        self.chunk = chunk
        self.pace_s = pace_s

    # Sending and waiting.

    def send(self, line: str) -> int:
        """Send one command line; returns the transcript offset its reply comes after."""
        if "\n" in line or "\r" in line:
            raise ValueError(f"one line at a time: {line!r}")
        start = len(self.transcript.text)
        data = (line + "\n").encode("ascii")
        if self.pace_s <= 0:
            self.strategy.console.write(data)
        else:
            for i in range(0, len(data), self.chunk):
                if i:
                    time.sleep(self.pace_s)
                self.strategy.console.write(data[i : i + self.chunk])
        return start

    def command(self, line: str, done: re.Pattern[str]) -> tuple[re.Match[str], str]:
        start = self.send(line)
        return self.wait(done, start, f"the host's answer to {line!r}")

    # Commands.

    def wait_ready(self, timeout_s: float | None = None) -> int:
        """Wait for the host's ``ready`` line (from the boot on); returns its ABI version."""
        match, _ = self.wait(READY, 0, "the host's 'ready' line", timeout_s)
        return int(match["abi"])

    def info(self) -> HostInfo:
        _, text = self.command("info", INFO_DONE)
        return parse_info(text)

    def register_line(self, text: str) -> str:
        """``register <text>`` as given; returns the final reply (``register ok vm=5``)."""
        match, _ = self.command(f"register {text}".rstrip(), REGISTER_DONE)
        return _reply(match)

    def hypercall(self, index: int, a1: int = 0, a2: int = 0, a3: int = 0) -> HcReply:
        """A raw hypercall made by the host (values are sent as 32-bit words)."""
        words = [f"0x{_u32(v, 'argument'):x}" for v in (index, a1, a2, a3)]
        match, _ = self.command("hc " + " ".join(words), HC_DONE)
        return parse_hc(match.group(0))

    def stats(self) -> HostStats:
        match, _ = self.command("stats", STATS_DONE)
        return parse_stats(match.group(0))
