"""A Linux host's interface to OVM, driven over Linux's shell: ``/proc/ovm``.

The OVM module (ovm/linux/module) gives ``/proc/ovm``: reading it is OVM's
``info`` as records (``vm ...`` and ``vcpu ...`` in the bare-metal host's words,
then ``core ...``, ``io ...`` and ``register last=...``); writing a ``register``
line registers a VM, and a refusal fails the write with OVM's status as an
errno, which the ``register last=`` record names. ``ovm-hostd`` serves NRT
guests' devices; the module counts what it served (the ``io`` record).

``LinuxHostConsole`` gives the lab the same ``info``, ``register`` and
``stats`` as the bare-metal host's ``HostConsole``, with replies in that host's
words, so one test runs against either.
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass
from typing import Protocol

from lab.firmware.model import Board, Scenario

from .console import (
    DEFAULT_TIMEOUT_S,
    HostError,
    HostInfo,
    HostInterface,
    HostStats,
    HostStrategy,
    abi,
    info_records,
    vcpu_line,
    vm_line,
)

PROC_OVM = "/proc/ovm"
HOSTD = "ovm-hostd"
# The module's line: longer ones are refused with EINVAL.
LINE_MAX = 256
_READY_POLL_S = 0.5

_HEADER = re.compile(r"^ovm abi=(?P<abi>\d+) vms=(?P<vms>\d+) vcpus=(?P<vcpus>\d+) "
                     r"cores=(?P<cores>\d+)$", re.MULTILINE)
_VM = vm_line("^")
_VCPU = vcpu_line("^")
_CORE = re.compile(r"^core index=(?P<index>\d+) level=(?P<level>\w+) ticking=(?P<ticking>\d+) "
                   r"run_queue=(?P<run_queue>\d+) wait_queue=(?P<wait_queue>\d+) "
                   r"smc=(?P<smc>\d+) fiq=(?P<fiq>\d+) irq=(?P<irq>\d+)$", re.MULTILINE)
_IO = re.compile(r"^io taken=(?P<taken>\d+) served=(?P<served>\d+) writes=(?P<writes>\d+) "
                 r"errors=(?P<errors>\d+) requeued=(?P<requeued>\d+) "
                 r"doorbells=(?P<doorbells>\d+)$", re.MULTILINE)
_LAST = re.compile(r"^register last=(?P<last>none|ok vm=\d+|error syntax \S*|error OVM_E_\w+)$",
                   re.MULTILINE)


class Shell(Protocol):
    """What LinuxHostConsole needs of lab.linux.shell.LinuxShell."""

    def run(self, command: str, timeout: float = 30.0) -> tuple[list[str], int]: ...


@dataclass(frozen=True)
class CoreRecord:
    index: int
    level: str
    ticking: bool
    run_queue: int
    wait_queue: int
    entries_smc: int
    entries_fiq: int
    entries_irq: int


@dataclass(frozen=True)
class IoCounts:
    """The module's counts of host-proxied I/O: requests taken from OVM (each given a
    ticket), answers OVM took (of them writes, and those with an error status), requests
    put back by a daemon that closed /dev/ovm-io without answering, doorbells taken."""

    taken: int
    served: int
    writes: int
    errors: int
    requeued: int
    doorbells: int


@dataclass(frozen=True)
class ProcOvm:
    """One read of /proc/ovm."""

    abi: int
    info: HostInfo
    cores: tuple[CoreRecord, ...]
    io: IoCounts
    # The last register line's outcome as the module recorded it: none, ok vm=<id>,
    # error syntax <key>, error OVM_E_<...>.
    last_register: str


def parse_proc_ovm(text: str) -> ProcOvm:
    """/proc/ovm's records; HostError when one is missing or the counts disagree."""
    header = _HEADER.search(text)
    io = _IO.search(text)
    last = _LAST.search(text)
    if header is None or io is None or last is None:
        missing = [name for name, m in (("ovm", header), ("io", io), ("register", last))
                   if m is None]
        raise HostError(f"{PROC_OVM} lacks its {', '.join(missing)} record: {text[-400:]!r}")
    info = info_records(text, _VM, _VCPU)
    counts = (int(header["vms"]), int(header["vcpus"]))
    if (len(info.vms), len(info.vcpus)) != counts:
        raise HostError(f"{PROC_OVM} announced {counts[0]} VMs and {counts[1]} vCPUs, its "
                        f"records list {len(info.vms)} and {len(info.vcpus)}")
    cores = tuple(
        CoreRecord(index=int(m["index"]), level=m["level"], ticking=m["ticking"] == "1",
                   run_queue=int(m["run_queue"]), wait_queue=int(m["wait_queue"]),
                   entries_smc=int(m["smc"]), entries_fiq=int(m["fiq"]),
                   entries_irq=int(m["irq"]))
        for m in _CORE.finditer(text))
    if len(cores) != int(header["cores"]):
        raise HostError(f"{PROC_OVM} announced {header['cores']} cores, lists {len(cores)}")
    return ProcOvm(
        abi=int(header["abi"]), info=info, cores=cores,
        io=IoCounts(**{name: int(io[name]) for name in
                       ("taken", "served", "writes", "errors", "requeued", "doorbells")}),
        last_register=last["last"])


def register_reply(last: str) -> str:
    """The module's ``register last=`` outcome in the bare-metal host's words:
    ``error OVM_E_BUSY`` -> ``register error -8``."""
    if last.startswith("error OVM_E_"):
        return f"register error {abi(last.removeprefix('error '))}"
    return f"register {last}"


class LinuxHostConsole(HostInterface):
    """The Linux host's /proc/ovm through its shell; OVM's console (``transcript``,
    ``wait``) through the strategy, as for the bare-metal host."""

    kind = "linux"

    def __init__(
        self,
        strategy: HostStrategy,
        shell: Shell,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        board: Board | None = None,
        scenario: Scenario | None = None,
    ) -> None:
        super().__init__(strategy, timeout_s=timeout_s, board=board, scenario=scenario)
        self.shell = shell

    def _run(self, command: str) -> tuple[list[str], int]:
        return self.shell.run(command, timeout=self.timeout_s)

    def read(self) -> ProcOvm:
        """One read of /proc/ovm."""
        lines, status = self._run(f"cat {PROC_OVM}")
        if status != 0:
            raise HostError(f"cat {PROC_OVM} failed ({status}): {' / '.join(lines[-3:])}")
        return parse_proc_ovm("\n".join(lines))

    def wait_ready(self, timeout_s: float | None = None) -> int:
        """Wait for /proc/ovm and a running ovm-hostd (the host image's /init starts both);
        returns the ABI OVM reported."""
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        while True:
            lines, status = self._run(f"test -e {PROC_OVM} && pidof {HOSTD}")
            if status == 0:
                return self.read().abi
            if time.monotonic() >= deadline:
                init = self._run("cat /tmp/ovm-hostd.log; dmesg | grep -i ovm | tail -5")[0]
                raise HostError(f"no {PROC_OVM} with {HOSTD} running: {' / '.join(init)}")
            time.sleep(_READY_POLL_S)

    def info(self) -> HostInfo:
        return self.read().info

    def _write_register(self, text: str) -> tuple[list[str], int]:
        """``register <text>`` written to /proc/ovm: the shell's lines and the exit status."""
        line = f"register {text}".rstrip()
        if len(line) + 1 > LINE_MAX:
            raise ValueError(f"{PROC_OVM} takes lines of under {LINE_MAX} characters")
        return self._run(f"echo {shlex.quote(line)} > {PROC_OVM}")

    def register_line(self, text: str) -> str:
        lines, status = self._write_register(text)
        reply = register_reply(self.read().last_register)
        if (status == 0) != reply.startswith("register ok"):
            raise HostError(f"write to {PROC_OVM} ended with {status} "
                            f"({' / '.join(lines)}) but the module recorded {reply!r}")
        return reply

    def write_errno(self, text: str) -> str:
        """The error text write() gave for ``register <text>`` ('' if it succeeded): the
        errno OVM's status was mapped to, as the shell prints it."""
        lines, status = self._write_register(text)
        if status == 0:
            return ""
        return next((line.split("write error: ", 1)[1] for line in lines
                     if "write error: " in line), " / ".join(lines))

    def stats(self) -> HostStats:
        io = self.read().io
        return HostStats(served=io.served, writes=io.writes, errors=io.errors)
