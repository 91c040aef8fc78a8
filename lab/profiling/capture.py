"""One traced run: QEMU with one instruction per block, its exec log switched on by its monitor.

The log is switched on once the console shows the path's start line and off
after a budget of instructions (the trace's size tells), so a profile costs
seconds and a few hundred MB however long the scenario runs. QEMU is stopped
however the capture ends.
"""

from __future__ import annotations

import os
import re
import selectors
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lab.target.qemu_command import QemuMachine

# One exec line is about this long ("Trace 0: 0x7f... [00000400/61300454/00000100/ff020201] ").
BYTES_PER_LINE = 64
MONITOR_PROMPT = b"(qemu) "


class CaptureError(Exception):
    """The traced run did not get to its start line, or QEMU would not trace."""


@dataclass(frozen=True)
class Capture:
    console: str
    trace: Path
    traced_bytes: int


def _monitor_command(monitor: socket.socket, command: str) -> None:
    monitor.sendall(command.encode() + b"\n")
    _read_until_prompt(monitor)


def _read_until_prompt(monitor: socket.socket) -> None:
    seen = b""
    while not seen.endswith(MONITOR_PROMPT):
        chunk = monitor.recv(4096)
        if not chunk:
            raise CaptureError("QEMU's monitor closed its socket")
        seen += chunk


def _connect(path: Path, deadline: float) -> socket.socket:
    while True:
        monitor = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            monitor.connect(str(path))
            monitor.settimeout(10.0)
            _read_until_prompt(monitor)
            return monitor
        except (FileNotFoundError, ConnectionRefusedError):
            monitor.close()
            if time.monotonic() > deadline:
                raise CaptureError(f"QEMU's monitor socket {path} never answered") from None
            time.sleep(0.05)


def capture(machine: QemuMachine, elf: Path, out_dir: Path, start: str, instructions: int,
            start_timeout_s: float = 120.0, trace_timeout_s: float = 300.0) -> Capture:
    """Run ``elf`` and trace ``instructions`` instructions (both cores) after ``start``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    trace = out_dir / "trace.log"
    trace.unlink(missing_ok=True)
    monitor_path = out_dir / "monitor.sock"
    monitor_path.unlink(missing_ok=True)
    command = machine.command(
        elf, "-singlestep", "-d", "nochain", "-D", str(trace), "-serial", "stdio",
        "-monitor", f"unix:{monitor_path},server,nowait")
    start_line = re.compile(start, re.MULTILINE)
    console = b""
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        os.set_blocking(process.stdout.fileno(), False)
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)

        def read_console(wait_s: float) -> None:
            nonlocal console
            if selector.select(wait_s):
                chunk = process.stdout.read() if process.stdout else b""
                if chunk:
                    console += chunk

        monitor = _connect(monitor_path, time.monotonic() + 10.0)
        deadline = time.monotonic() + start_timeout_s
        while not start_line.search(console.decode(errors="replace").replace("\r", "")):
            if process.poll() is not None:
                raise CaptureError(f"QEMU exited with {process.returncode} before {start!r}")
            if time.monotonic() > deadline:
                raise CaptureError(f"no console line matching {start!r} in {start_timeout_s:.0f} s")
            read_console(0.05)
        _monitor_command(monitor, "log exec,nochain")
        budget = instructions * BYTES_PER_LINE
        deadline = time.monotonic() + trace_timeout_s
        while not trace.exists() or trace.stat().st_size < budget:
            if process.poll() is not None:
                raise CaptureError(f"QEMU exited with {process.returncode} while tracing")
            if time.monotonic() > deadline:
                break  # what was traced is kept: a quiet phase of the guests traces slowly
            read_console(0.05)
        _monitor_command(monitor, "log nochain")
        # quit, not a signal: QEMU flushes its log as it exits.
        monitor.sendall(b"quit\n")
        monitor.close()
        deadline = time.monotonic() + 10.0
        while process.poll() is None and time.monotonic() < deadline:
            read_console(0.05)  # a full console pipe would hold QEMU up
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
        monitor_path.unlink(missing_ok=True)
    return Capture(console.decode(errors="replace").replace("\r", ""), trace,
                   trace.stat().st_size if trace.exists() else 0)
