"""Linux's console as a labgrid shell: commands in, their output lines and exit code out.

Linux's console is a QEMU serial port exported as a TCP server on a free
loopback port (``console_args``): natively the machine's second UART, and
under OVM too (UART1 at 0x1000a000, ``console=ttyAMA1``), OVM's own console
staying the first. A labgrid ``Target`` built here holds a
``NetworkSerialPort`` (raw TCP), a ``SerialDriver`` that keeps every byte it
receives (the transcript), and labgrid's ``ShellDriver``.

``ShellDriver`` takes the host image's plain prompt without a login: its
``_await_login`` stops at the first prompt it sees and only logs in when a
login prompt comes first, which here never matches. What it adds: a prompt
check with a marker before every command and the command wrapped between
markers, so output and exit code are exact.

Nothing is typed before the host image's ``/init`` has printed its marker:
the kernel opens the console for /init, and Linux's PL011 driver drains the
receive FIFO when it opens the port, 32 reads at most. Bytes typed before that
are dropped, and on QEMU, whose PL011 refills its FIFO from the connection as
fast as the driver reads, more than about 48 of them leave the FIFO full
after the drain with its receive interrupt clear: it is raised only when the
FIFO goes from empty to not empty, so the console takes no input again.

Then ``open`` synchronises with the shell before ShellDriver sees the console:
whatever was typed before the shell ran waits in the tty's line buffer and
runs once the shell starts, each line answered by a prompt of its own, so a
prompt would be taken for the answer to a later command. It types echo
commands, each with a marker of its own and at growing intervals, until the
one typed last has come back: the input is a queue, so nothing typed earlier
is still waiting. ShellDriver then finds that last prompt.

Two things make the shell object outlast a disturbed console. Before each
command it sends ^C and a marker's echo, again until the marker comes back
before a prompt: a garbage line on the serial (an open quote, a half-typed
command) or a command left running by a timeout is dropped, and the command
runs at a clean prompt (one more round trip per command). And when the
host image's ``/init`` reports that the shell exited (it starts another),
the ShellDriver is activated afresh, since its helper function lived in the
old shell.
"""

from __future__ import annotations

import re
import secrets
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from labgrid import Target
from labgrid.binding import BindingState
from labgrid.driver import SerialDriver, ShellDriver
from labgrid.factory import target_factory
from labgrid.resource import NetworkSerialPort
from pexpect import TIMEOUT

from . import LinuxUserError
from .initramfs import INIT_MARK, PROMPT

LOOPBACK = "127.0.0.1"
# The login prompt ShellDriver must be given: a pattern that matches nothing.
NO_LOGIN = r"(?!)"
# /init's line when the shell ended (a number, so that `cat /init` does not count as one).
RESPAWNED = re.compile(rf"^{re.escape(INIT_MARK)} shell exited with \d+", re.MULTILINE)
CONNECT_POLL_S = 0.05
PROMPT_AFTER_INTERRUPT_S = 2.0
INTERRUPTS = 5
TAIL_LINES = 40
# The first wait for a synchronising echo's answer, and the longest: the boot can take
# minutes, and each unanswered echo waits in the tty's buffer (4 KiB) until the shell runs.
SYNC_FIRST_WAIT_S = 1.0
SYNC_LONGEST_WAIT_S = 8.0


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nobody listens on now: the kernel's pick for port 0 (QEMU binds it next;
    the window in between is a few milliseconds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def console_args(port: int, *, wait: bool = False, host: str = LOOPBACK) -> list[str]:
    """The QEMU options for Linux's console: one more ``-serial``, a TCP server on ``port``.

    Serial ports are numbered in the order of the ``-serial`` options, so these must come
    after the one for OVM's console. labgrid's QEMUDriver appends its own ``-serial`` after
    ``extra_args``; put these after it (``qemu_driver_add_console``), not into extra_args.
    ``wait``: QEMU starts the machine only once the console is connected (nothing lost;
    QEMUDriver's start could not wait for that)."""
    return ["-serial", f"tcp:{host}:{port},server=on,wait={'on' if wait else 'off'}"]


def qemu_driver_add_console(qemu: object, port: int) -> None:
    """Append ``console_args(port)`` to an activated, not yet started labgrid QEMUDriver's
    command, after its own ``-serial`` (its ``_cmd``: QEMUDriver builds the command when
    activated and offers no public way to add to its end)."""
    command = getattr(qemu, "_cmd", None)
    if not isinstance(command, list) or "-serial" not in command:
        raise LinuxUserError(f"{qemu} is not an activated QEMUDriver with its own -serial")
    if getattr(qemu, "status", 0):
        raise LinuxUserError(f"{qemu} already runs: add the console before it starts")
    command.extend(console_args(port))


@target_factory.reg_driver
class TranscribingSerialDriver(SerialDriver):
    """labgrid's SerialDriver, keeping every byte it reads (pexpect reads through _read).
    No attribute of its own, so SerialDriver's attrs __init__ serves unchanged."""

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.received = bytearray()

    def _read(self, size: int = 1, timeout: float = 0.0, max_size: int | None = None) -> bytes:
        data: bytes = super()._read(size=size, timeout=timeout, max_size=max_size)
        self.received.extend(data)
        return data


class LinuxShell:
    """A shell on Linux's console at ``host:port``; a context manager that always closes.

    ``boot_marker``: what the console prints once the system is up (the host image's
    ``INIT_MARK`` line); waited for before anything is typed (see the module's docstring),
    which also keeps a late kernel line out of the first command. None: type at once, for
    a console connected after the marker passed. ``alive``: tells whether the machine still
    runs, so that a dead QEMU ends the wait at once instead of at the timeout."""

    def __init__(self, port: int, *, host: str = LOOPBACK, prompt: str = PROMPT,
                 boot_marker: str | None = INIT_MARK, boot_timeout: float = 120.0,
                 transcript_path: Path | None = None,
                 alive: Callable[[], bool] | None = None) -> None:
        self.port = port
        self.host = host
        self.prompt = prompt
        self.boot_marker = boot_marker
        self.boot_timeout = boot_timeout
        self.transcript_path = transcript_path
        self.alive = alive or (lambda: True)
        self.marker_line: str | None = None  # the boot marker's line, once seen
        self.seconds_to_prompt: float | None = None  # the first connection try to a shell
        self._connecting_since: float | None = None
        self.target = Target(f"linux-console-{port}")
        NetworkSerialPort(self.target, name=None, host=host, port=port, protocol="raw")
        self.serial = TranscribingSerialDriver(self.target, name=None)
        # await_login_timeout: the silence after which ShellDriver sends a newline to get a
        # prompt shown; 1 s, not 2, as a console that is quiet here is waiting for input.
        self.shell = ShellDriver(self.target, name=None, prompt=re.escape(prompt),
                                 login_prompt=NO_LOGIN, username="root",
                                 login_timeout=int(boot_timeout), await_login_timeout=1)
        self._respawns = 0

    def __enter__(self) -> LinuxShell:
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    @property
    def transcript(self) -> str:
        """Everything received so far, as text (bytes that are not UTF-8 replaced)."""
        return bytes(self.serial.received).decode("utf-8", errors="replace").replace("\r\n", "\n")

    def tail(self, lines: int = TAIL_LINES) -> str:
        return "\n".join(self.transcript.rstrip().splitlines()[-lines:]) or "(nothing)"

    def open(self) -> None:
        """Connect (QEMU may still be starting), wait for the boot marker, synchronise with
        the shell, hand it to ShellDriver."""
        deadline = time.monotonic() + self.boot_timeout
        try:
            self.await_boot_marker(deadline)  # connects first
            self._synchronise(deadline)
            self.shell.login_timeout = max(1, int(deadline - time.monotonic()))
            self.target.activate(self.shell)
        except TIMEOUT as error:
            raise self._error(f"no shell prompt {self.prompt!r} within {self.boot_timeout:.0f} s"
                              ) from error
        except LinuxUserError:
            raise
        except Exception as error:  # the console closed: QEMU ended
            raise self._error(f"the console failed before the shell came up ({error})") from error
        self._respawns = len(RESPAWNED.findall(self.transcript))
        assert self._connecting_since is not None
        self.seconds_to_prompt = time.monotonic() - self._connecting_since

    def _connect(self, deadline: float) -> None:
        """Retried until ``deadline`` (monotonic) while QEMU opens its port; done already:
        nothing."""
        if self.serial.state is BindingState.active:
            return
        if self._connecting_since is None:
            self._connecting_since = time.monotonic()
        while True:
            try:
                self.target.activate(self.serial)
                return
            except Exception as error:  # refused: QEMU has not opened the port yet
                if not self.alive():
                    raise LinuxUserError(
                        f"the machine ended before its console {self.host}:{self.port} "
                        "took a connection") from error
                if time.monotonic() > deadline:
                    raise LinuxUserError(
                        f"no connection to the console {self.host}:{self.port} ({error})"
                    ) from error
                time.sleep(CONNECT_POLL_S)

    def await_boot_marker(self, deadline: float | None = None) -> None:
        """Wait for the boot marker's line, until ``deadline`` (monotonic; default:
        ``boot_timeout`` from now); seen already or none asked for: nothing. ``open`` calls
        it; called first, a test can type into a booted console before the shell runs."""
        if deadline is None:
            deadline = time.monotonic() + self.boot_timeout
        self._connect(deadline)
        if self.boot_marker is None or self.marker_line is not None:
            return
        pattern = re.escape(self.boot_marker).encode() + rb"[^\r\n]*\r?\n"
        while True:
            try:
                _, _, match, _ = self.serial.expect(pattern, timeout=1.0)
                self.marker_line = match.group(0).decode(errors="replace").strip()
                return
            except TIMEOUT:
                if not self.alive():
                    raise self._error("the machine ended before its boot marker") from None
                if time.monotonic() > deadline:
                    raise self._error(f"no {self.boot_marker!r} line within "
                                      f"{self.boot_timeout:.0f} s") from None

    def _synchronise(self, deadline: float) -> None:
        """Echo markers until the last one typed is answered before a prompt (see the
        module's docstring); that prompt is left for ShellDriver. No ^C here: before the
        shell runs it would reach /init, and a tty flushes its input on one."""
        prompt = re.escape(self.prompt)
        wait = SYNC_FIRST_WAIT_S
        while True:
            marker = self._type_marker()
            try:
                self.serial.expect(rf"{marker}\r?\n(?=\s*{prompt})",
                                   timeout=max(0.0, min(wait, deadline - time.monotonic())))
                return
            except TIMEOUT:
                if not self.alive():
                    raise self._error("the machine ended before its shell answered") from None
                if time.monotonic() >= deadline:
                    raise
                wait = min(2 * wait, SYNC_LONGEST_WAIT_S)

    def _type_marker(self) -> str:
        """Type an echo of a fresh marker; the marker, which only its output contains: the
        command line, echoed as typed, has it quoted apart."""
        marker = secrets.token_hex(5)
        self.serial.sendline(f"echo '{marker[:5]}''{marker[5:]}'")
        return marker

    def _error(self, what: str) -> LinuxUserError:
        return LinuxUserError(f"Linux console {self.host}:{self.port}: {what}; "
                              f"console tail:\n{self.tail()}")

    def _clean_prompt(self) -> None:
        """^C, then a marker echoed before a prompt, until it comes (see the module's
        docstring); a shell that restarted meanwhile gets the ShellDriver afresh.

        Retried because one ^C can be lost: a command killed by it flushes the tty's input
        (the echo with it), and busybox's line editor drops the bytes after an escape
        sequence it does not know (a garbage line's ^C included)."""
        prompt = re.escape(self.prompt)
        for _ in range(INTERRUPTS):
            self.serial.sendcontrol("c")
            marker = self._type_marker()
            try:
                self.serial.expect(rf"{marker}\s+{prompt}", timeout=PROMPT_AFTER_INTERRUPT_S)
                break
            except TIMEOUT:
                continue
        else:
            raise TIMEOUT(f"no prompt after {INTERRUPTS} interrupts")
        respawns = len(RESPAWNED.findall(self.transcript))
        if respawns != self._respawns:
            self._respawns = respawns
            self.target.deactivate(self.shell)
            self.target.activate(self.shell)

    def run(self, command: str, timeout: float = 30.0) -> tuple[list[str], int]:
        """Run ``command`` in the shell: its output lines (stdout and stderr, as the console
        shows them) and its exit code. Raises LinuxUserError on a timeout or a lost console,
        with the console's tail."""
        try:
            self._clean_prompt()
        except TIMEOUT as error:
            raise self._error(f"no clean prompt for {command!r} ({error})") from error
        except Exception as error:
            raise self._error(f"the console failed before {command!r}: {error}") from error
        try:
            lines, _, code = self.shell.run(command, timeout=timeout, decodeerrors="replace")
        except TIMEOUT as error:
            raise self._error(f"{command!r} did not finish within {timeout:.0f} s") from error
        except Exception as error:
            raise self._error(f"{command!r} failed: {error}") from error
        return list(lines), int(code)

    def run_check(self, command: str, timeout: float = 30.0) -> list[str]:
        """``run``, and an error unless the exit code is 0."""
        lines, code = self.run(command, timeout)
        if code != 0:
            shown = "\n".join(lines[-TAIL_LINES:]) or "(no output)"
            raise LinuxUserError(f"{command!r} exited with {code}:\n{shown}")
        return lines

    def write(self, data: bytes) -> None:
        """Raw bytes to the console, as typed (for tests of a disturbed console)."""
        self.serial.write(data)

    def save_transcript(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.transcript, encoding="utf-8")
        return path

    def close(self) -> None:
        """Deactivate the drivers and close the connection; write the transcript if asked.
        Safe to call twice, and after a failed open."""
        try:
            self.target.cleanup()
        finally:
            if self.transcript_path is not None:
                self.save_transcript(self.transcript_path)
