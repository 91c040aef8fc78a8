"""A scripted stand-in for a ZC702 board, and the environment that drives it.

**Not a board and not an emulator**: ``ScriptedZC702`` is a script that
answers on a pseudo-terminal the way a ZC702's USB-UART does — U-Boot's
banner and autoboot countdown, the ``Zynq> `` prompt, ``setenv``, ``dhcp``,
``echo``, ``tftpboot`` (reading the file from a directory standing in for the
TFTP server's root) and ``go`` — and after ``go`` prints whatever the test
registered for the loaded image's bytes (an OVM banner, or nothing: an image
that hangs). Its power switch is a control file: ``echo on >> FILE`` /
``echo off >> FILE``, as labgrid's ``ExternalPowerDriver`` runs them.

Everything on the lab's side of the wire is real labgrid code: ``SerialDriver``
on a ``RawSerialPort`` (the pty), ``ExternalPowerDriver``, ``UBootDriver``,
``TFTPProviderDriver`` on a local ``TFTPProvider``, and ``ZC702Strategy``
with the driver settings of ``env/zc702-remote.yaml``. What these tests show
is that the strategy's state machine and the environment's configuration work
against U-Boot's dialogue; that a real ZC702 boots OVM is shown on a board only.

Also here: a labgrid coordinator on a loopback port for the tests that need one
(talked to with ``lab.remote.coordination.LabClient``, as the lab does).
"""

from __future__ import annotations

import hashlib
import os
import pty
import shlex
import socket
import subprocess
import threading
import time
import tty
import zlib
from collections import UserString
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from lab.remote.coordination import ClientError, LabClient, labgrid_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
REMOTE_ENV = REPO_ROOT / "env" / "zc702-remote.yaml"
PROMPT = "Zynq> "
UBOOT_BANNER = (
    "\r\n\r\nU-Boot SPL 2023.01 (scripted ZC702 stand-in)\r\n"
    "mmc boot\r\nTrying to boot from MMC1\r\n\r\n"
    "U-Boot 2023.01 (scripted ZC702 stand-in)\r\n\r\n"
    "CPU:   Zynq 7z020\r\nSilicon: v3.1\r\nModel: Zynq ZC702 Development Board\r\n"
    "DRAM:  ECC disabled 1 GiB\r\nCore:  stand-in\r\nMMC:   mmc@e0100000: 0\r\n"
)
HANG_BANNER = (
    "\r\n\r\nU-Boot SPL 2023.01 (scripted ZC702 stand-in)\r\n"
    "DRAM:  ECC disabled 1 GiB\r\nTrying to boot from MMC1\r\n"
)


def image_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class ScriptedZC702:
    """A stand-in for a ZC702 on a pty: U-Boot's dialogue, then a registered program.

    ``programs`` maps the SHA-256 of an image to what it prints after ``go``;
    ``default_output`` is printed for any other image (None: it hangs silently).
    ``uboot_hangs``: the stand-in's U-Boot never reaches its countdown or prompt.
    """

    tftp_root: Path
    control: Path
    countdown_s: int = 3
    tick_s: float = 0.2
    uboot_hangs: bool = False
    programs: dict[str, str] = field(default_factory=dict)
    default_output: str | None = None

    def __post_init__(self) -> None:
        self.master, self._slave = pty.openpty()
        tty.setraw(self._slave)  # no echo, no line discipline: a UART, not a terminal
        self.port = os.ttyname(self._slave)
        self.control.write_text("")
        self.commands: list[str] = []  # every command line U-Boot ran
        self.power_events: list[str] = []
        self.loaded: dict[int, bytes] = {}  # "RAM": what tftpboot put where (lost at power off)
        self.fetched: list[tuple[int, bytes]] = []  # every tftpboot: (address, image)
        self.started: list[int] = []  # addresses `go` jumped to
        self.env: dict[str, str] = {}
        self.powered = False
        self._state = "off"
        self._line = ""
        self._last_code = 0
        self._schedule: list[tuple[float, str | Callable[[], None]]] = []
        self._control_offset = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scripted-zc702", daemon=True)
        self._thread.start()

    # -- what the lab's power switch does ----------------------------------------

    @property
    def cmd_on(self) -> str:
        return f"sh -c 'echo on >> {self.control}'"

    @property
    def cmd_off(self) -> str:
        return f"sh -c 'echo off >> {self.control}'"

    def register(self, image: bytes, output: str) -> None:
        """After ``go`` to ``image``, print ``output``."""
        self.programs[image_key(image)] = output

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self.master)
        os.close(self._slave)

    # -- the script ------------------------------------------------------------------

    def _loop(self) -> None:
        import select

        while not self._stop.is_set():
            self._poll_control()
            ready, _, _ = select.select([self.master], [], [], 0.01)
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    data = b""
                if self.powered:
                    for char in data.decode("latin-1"):
                        self._on_char(char)
            self._run_due()

    def _poll_control(self) -> None:
        text = self.control.read_text()
        if len(text) <= self._control_offset or not text.endswith("\n"):
            return
        for event in text[self._control_offset:].split():
            self.power_events.append(event)
            if event == "on" and not self.powered:
                self._power_on()
            elif event == "off":
                self._power_off()
        self._control_offset = len(text)

    def settle(self, timeout: float = 5.0) -> "ScriptedZC702":
        """Wait until every switch of the power so far has been acted on."""
        deadline = time.monotonic() + timeout
        while self._control_offset < len(self.control.read_text()):
            if time.monotonic() > deadline:
                raise TimeoutError("the stand-in did not act on its power switch")
            time.sleep(0.005)
        return self

    def _power_on(self) -> None:
        self.powered = True
        self._line = ""
        if self.uboot_hangs:
            self._state = "hung"
            self._emit(HANG_BANNER)
            return
        self._state = "countdown"
        self._emit(UBOOT_BANNER + f"Hit any key to stop autoboot: {self.countdown_s:2d} ")
        now = time.monotonic()
        for left in range(self.countdown_s - 1, -1, -1):
            self._later(now + (self.countdown_s - left) * self.tick_s, f"\b\b\b{left:2d} ")
        self._later(now + (self.countdown_s + 0.5) * self.tick_s, self._autoboot)

    def _power_off(self) -> None:
        self.powered = False
        self._state = "off"
        self._schedule.clear()
        self.loaded.clear()
        self.env.clear()

    def _autoboot(self) -> None:
        self._state = "prompt"
        self._emit("\r\nswitch to partitions #0, OK\r\n** No boot file defined **\r\n" + PROMPT)

    def _on_char(self, char: str) -> None:
        if self._state == "countdown":  # any key stops autoboot; U-Boot swallows it
            self._schedule.clear()
            self._state = "prompt"
            self._emit("\b\b\b 0 \r\n" + PROMPT)
        elif self._state == "prompt":
            if char in "\r\n":
                line, self._line = self._line, ""
                self._emit("\r\n")
                self._execute(line)
                if self._state == "prompt":
                    self._emit(PROMPT)
            elif char in "\b\x7f":
                self._line = self._line[:-1]
            else:
                self._line += char
                self._emit(char)  # U-Boot echoes what is typed
        # "hung", "running", "off": input goes nowhere

    # -- a little of U-Boot's hush shell -----------------------------------------------

    def _execute(self, line: str) -> None:
        if not line.strip():
            return
        self.commands.append(line)
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";")
        lexer.whitespace_split = True
        words: list[str] = []
        for token in list(lexer) + [";"]:
            if token != ";":
                words.append(str(self._last_code) if token == "$?" else token)
                continue
            if words:
                self._last_code = self._command(words)
                if self._state != "prompt":
                    return
            words = []

    def _command(self, words: list[str]) -> int:
        name, args = words[0], words[1:]
        if name == "echo":
            self._emit(" ".join(args) + "\r\n")
            return 0
        if name == "setenv":
            if args[1:]:
                self.env[args[0]] = " ".join(args[1:])
            elif args:
                self.env.pop(args[0], None)
            return 0
        if name == "dhcp":
            self.env.update(ipaddr="192.168.10.20", serverip="192.168.10.1")
            self._emit("BOOTP broadcast 1\r\nDHCP client bound to address 192.168.10.20 (4 ms)\r\n")
            return 0
        if name in ("tftpboot", "tftp"):
            return self._tftpboot(args)
        if name == "go":
            return self._go(args)
        self._emit(f"Unknown command '{name}' - try 'help'\r\n")
        return 1

    def _tftpboot(self, args: list[str]) -> int:
        if len(args) != 2:
            self._emit("Usage:\r\ntftpboot [loadAddress] [[hostIPaddr:]bootfilename]\r\n")
            return 1
        address, name = int(args[0], 16), args[1].split(":")[-1]
        server = self.env.get("serverip", "")
        self._emit("Using ethernet@e000b000 device\r\n"
                   f"TFTP from server {server}; our IP address is {self.env.get('ipaddr', '')}\r\n"
                   f"Filename '{name}'.\r\nLoad address: 0x{address:x}\r\nLoading: ")
        # The name must stay under the root; a symlink there may point anywhere
        # (labgrid's staging links into /var/cache/labgrid), as atftpd allows.
        path = Path(os.path.normpath(self.tftp_root / name))
        if not server or not path.is_relative_to(self.tftp_root) or not path.is_file():
            self._emit("*\r\nTFTP error: 'File not found' (1)\r\nNot retrying...\r\n")
            return 1
        data = path.read_bytes()
        self.loaded[address] = data
        self.fetched.append((address, data))
        self._emit(f"{'#' * max(1, len(data) // 4096)}\r\n\t 2.1 MiB/s\r\ndone\r\n"
                   f"Bytes transferred = {len(data)} ({len(data):x} hex)\r\n")
        return 0

    def _go(self, args: list[str]) -> int:
        address = int(args[0], 16)
        self.started.append(address)
        self._emit(f"## Starting application at 0x{address:08X} ...\r\n")
        self._state = "running"
        image = self.loaded.get(address)
        output = None
        if image is not None:
            output = self.programs.get(image_key(image), self.default_output)
        if output:
            self._later(time.monotonic() + 0.05, output.replace("\n", "\r\n"))
        return 0

    # -- output ----------------------------------------------------------------------

    def _later(self, when: float, action: str | Callable[[], None]) -> None:
        self._schedule.append((when, action))
        self._schedule.sort(key=lambda item: item[0])

    def _run_due(self) -> None:
        now = time.monotonic()
        while self._schedule and self._schedule[0][0] <= now:
            _, action = self._schedule.pop(0)
            if callable(action):
                action()
            else:
                self._emit(action)

    def _emit(self, text: str) -> None:
        if self.powered:
            os.write(self.master, text.encode("latin-1"))


def zc702_image(scenario: str) -> Path:
    """``build/zc702/<scenario>/ovm.bin``, built if missing."""
    from lab.firmware.build import build

    image = REPO_ROOT / "build" / "zc702" / scenario / "ovm.bin"
    if not image.exists() or not image.with_suffix(".elf").exists():
        build("zc702", scenario, repo_root=REPO_ROOT)
    return image


def native_image() -> Path:
    from lab.evaluation.experiments import LATENCY_ARGS
    from lab.firmware.native import build_native

    image = REPO_ROOT / "build" / "zc702" / "native" / "latency" / "latency.bin"
    if not image.exists():
        build_native("zc702", "latency", LATENCY_ARGS, repo_root=REPO_ROOT)
    return image


def ovm_banner(scenario: str, *, cores_up: int = 2) -> str:
    return (f"[ovm] OVM 0.2.0 booting on zc702, scenario {scenario}\n"
            f"OVM 0.2.0 board=zc702 scenario={scenario} build=standin cores={cores_up}/2\n")


def native_banner(program: str) -> str:
    return f"NATIVE program={program} board=zc702 build=standin\n"


def records(series: str, values: list[int], *, unit: str = "ticks") -> str:
    """``values`` as record lines of the guests' protocol (``lab/records.py``)."""

    def line(body: str) -> str:
        return f"{body} #{zlib.crc32(body.encode()):08x}\n"

    text = line(f"@ovm1 B {series} n={len(values)} unit={unit}")
    for first in range(0, len(values), 16):
        chunk = " ".join(str(v) for v in values[first:first + 16])
        text += line(f"@ovm1 S {series} {first} {chunk}")
    return text + line(f"@ovm1 E {series} n={len(values)}")


# -- the environment: env/zc702-remote.yaml's drivers on the stand-in's wires -----------


def _plain(data):
    if isinstance(data, dict):
        return {str(k): _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if isinstance(data, UserString):
        return str(data)
    return data


def standin_env(path: Path, board: ScriptedZC702, *, image: Path, boot_timeout: float = 3.0,
                login_timeout: int = 3, place: str = "zc702-standin") -> Path:
    """Write a labgrid environment for ``board``: the drivers and their settings
    of ``env/zc702-remote.yaml``, with local resources and a power switch that
    talks to the stand-in instead of the ``RemotePlace``."""
    from labgrid.util.yaml import load

    remote = _plain(load(REMOTE_ENV.read_text()))
    main = remote["targets"]["main"]
    drivers = dict(main["drivers"])
    strategy = dict(drivers.pop("ZC702Strategy"), boot_timeout=boot_timeout)
    uboot = dict(drivers.pop("UBootDriver"), login_timeout=login_timeout)
    drivers.pop("NetworkPowerDriver")
    provider_dir = board.tftp_root / place
    env = {
        "targets": {
            "main": {
                "features": main["features"],
                "resources": {
                    "RawSerialPort": {"port": board.port, "speed": 115200},
                    "TFTPProvider": {"internal": f"{provider_dir}/", "external": f"{place}/"},
                },
                "drivers": {
                    **drivers,  # SerialDriver, TFTPProviderDriver
                    "ExternalPowerDriver": {"cmd_on": board.cmd_on, "cmd_off": board.cmd_off,
                                            "delay": 0.05},
                    "UBootDriver": uboot,
                    "ZC702Strategy": strategy,
                },
            }
        },
        "options": remote["options"],
        "images": {"ovm": str(image)},
        "imports": remote["imports"],
    }
    path.write_text(yaml.safe_dump(env, sort_keys=False))
    return path


# -- a labgrid coordinator on loopback ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def coordinator(workdir: Path):
    """A ``labgrid-coordinator`` on a free loopback port; yields its address."""
    workdir.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{free_port()}"
    log = (workdir / "coordinator.log").open("wb")
    process = subprocess.Popen([labgrid_tool("labgrid-coordinator"), "-l", address],
                               cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                LabClient(address).places()
                break
            except ClientError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"labgrid-coordinator did not come up on {address}: "
                                       f"{(workdir / 'coordinator.log').read_text()}") from None
            time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def create_place(address: str, name: str, **tags: str) -> None:
    admin = LabClient(address)
    admin.create_place(name)
    if tags:
        admin.set_tags(name, tags)
