"""labgrid strategy for a ZC702: from any state to "OVM running" through U-Boot.

``ZC702Strategy`` is an ``OVMStrategy`` (same states ``off``, ``ovm`` and
``native``; same ``select_image``, ``banner``, ``native_banner`` and
``transcript``), so whatever asks a target for its ``OVMStrategy`` — the
``ovm`` and ``boot_scenario`` fixtures, ``lab.run``, the evaluation — drives a
board exactly as it drives QEMU. Only the way to start an image differs. On
the ZC702 it is, every time:

1. stage the image's raw ``.bin`` with labgrid's ``TFTPProviderDriver`` (on a
   remote place the file is copied to the exporter host over SSH and linked
   into the board's TFTP directory);
2. open the console (labgrid's ``SerialDriver``) and power-cycle the board
   (any labgrid ``PowerProtocol`` driver);
3. stop U-Boot's autoboot and wait for its prompt (labgrid's ``UBootDriver``,
   which also runs its ``init_commands``, e.g. the network setup);
4. ``tftpboot <load address> <staged name>`` and ``go <load address>``;
5. wait for OVM's banner (or a native program's ``NATIVE`` line).

labgrid's own ``UBootStrategy`` ends in a Linux shell check, which a
bare-metal image never reaches; hence this strategy. U-Boot runs secure on the
ZC702, so OVM starts in secure SVC as it does on QEMU.

The load address is OVM's link address on the board, read from
``ovm/board/<options.ovm_board>/board.yaml`` (``0x10000000`` on the ZC702); a
native program is linked at the same address. ``select_image`` takes what the
builds return, the ELF, and stages its sibling ``.bin`` (what U-Boot loads).

Everything the board printed, U-Boot's part included, is kept in
``console_log`` and in the transcript; a failed boot raises ``BootError`` with
the console log in its message, and leaves the board powered off.
"""

from __future__ import annotations

import os
from pathlib import Path

import attr
from labgrid.factory import target_factory
from labgrid.step import steps
from labgrid.strategy import StrategyError
from pexpect import TIMEOUT

from lab.paths import REPO_ROOT

from .strategy import BootError, OVMStrategy, Status
from .transcript import TAIL_LINES_IN_ERRORS, ConsoleTimeout, ConsoleTranscript


def _address(value: object) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return int(str(value), 0)


class ConsoleCapture:
    """Everything read from one console driver while labgrid's expect machinery
    (the ``UBootDriver``) talks to it.

    labgrid reports each ``read`` of a console as a step event (that is how its
    ``ConsoleLoggingReporter`` writes console logs); this listens to the same
    events for one driver.
    """

    def __init__(self, console) -> None:
        self._console = console
        self.data = bytearray()

    def __enter__(self) -> "ConsoleCapture":
        steps.subscribe(self._notify)
        return self

    def __exit__(self, *exc_info) -> None:
        steps.unsubscribe(self._notify)

    def _notify(self, event) -> None:
        step_ = event.step
        if (step_.source is self._console and step_.tag == "console" and step_.title == "read"
                and event.data.get("state") == "stop" and step_.result):
            self.data.extend(step_.result)

    @property
    def text(self) -> str:
        return bytes(self.data).decode("utf-8", errors="replace").replace("\r\n", "\n")


class BoardTranscript(ConsoleTranscript):
    """A transcript that starts with what was read before it (U-Boot's dialogue)."""

    def __init__(self, console, preamble: bytes = b"") -> None:
        super().__init__(console)
        self._received.extend(preamble)


@target_factory.reg_driver
@attr.s(eq=False)
class ZC702Strategy(OVMStrategy):
    bindings = OVMStrategy.bindings | {"uboot": "UBootDriver", "tftp": "TFTPProviderDriver"}

    # None: OVM's link address from the board file of options.ovm_board.
    load_address: int | None = attr.ib(default=None, converter=_address)
    # The key under the environment's images: that names the default image.
    image = attr.ib(default="ovm", validator=attr.validators.instance_of(str))
    # How long tftpboot may take to come back to U-Boot's prompt.
    tftp_timeout = attr.ib(default=60.0, converter=float)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self._selected: Path | None = None  # None: the environment's own image
        self.console_log: str = ""
        self.staged: tuple[Path, str] | None = None  # (local .bin, name U-Boot fetched)
        if self.load_address is None:
            self.load_address = self._board_load_address()

    # -- images -----------------------------------------------------------------

    def select_image(self, image: Path | None) -> None:
        """Boot ``image`` from the next transition on (None: the environment's own).

        ``image`` is what a build returns, usually the ELF; U-Boot gets its
        sibling ``.bin``. A different image than the running one powers the
        board off, so the next transition boots it.
        """
        wanted = Path(image) if image is not None else None
        if wanted == self._selected:
            return
        self.transition(Status.off)
        self._selected = wanted

    def image_to_stage(self) -> Path:
        """The raw image the next boot stages: the selected one, else the environment's."""
        if self._selected is not None:
            chosen = self._selected
        else:
            chosen = Path(os.path.normpath(self.target.env.config.get_image_path(self.image)))
        raw = chosen if chosen.suffix == ".bin" else chosen.with_suffix(".bin")
        if not raw.is_file():
            built_from = f" (for {chosen})" if raw != chosen else ""
            raise BootError(f"no raw image {raw}{built_from}: U-Boot loads the .bin that "
                            f"`make firmware BOARD=zc702` writes beside the ELF")
        return raw

    def _board_load_address(self) -> int:
        from lab.firmware.loader import load_board

        board = self.target.env.config.get_option("ovm_board", None) if self.target.env else None
        if not board:
            raise StrategyError("ZC702Strategy: no load_address and no options.ovm_board to read it from")
        return load_board(REPO_ROOT / "ovm", board).ovm.base

    # -- states -----------------------------------------------------------------

    def _power_off(self) -> None:
        # Deactivating the console deactivates the UBootDriver on top of it too.
        transcript = self.transcript
        super()._power_off()
        if transcript:
            self.console_log = transcript.text

    def _boot(self, banner, what: str):
        image = self.image_to_stage()
        self.target.activate(self.tftp)
        staged = self.tftp.stage(str(image))
        self.staged = (image, staged)
        address = f"0x{self.load_address:08x}"

        self.target.activate(self.console)
        _forget_unmatched_input(self.console)
        self.target.activate(self.power)
        with ConsoleCapture(self.console) as capture:
            self.power.cycle()
            try:
                self.target.activate(self.uboot)
            except Exception as error:  # pexpect's TIMEOUT, or a password prompt, ...
                raise self._failed(f"U-Boot's prompt /{self.uboot.prompt}/ not seen within "
                                   f"{self.uboot.login_timeout} s after power-on "
                                   f"({_first_line(error)})", capture.text) from None
            command = f"tftpboot {address} {staged}"
            try:
                output, _, code = self.uboot.run(command, timeout=max(1, round(self.tftp_timeout)))
            except TIMEOUT:
                raise self._failed(f"`{command}` did not return to U-Boot's prompt within "
                                   f"{self.tftp_timeout:.0f} s", capture.text) from None
            if code != 0:
                raise self._failed(f"`{command}` failed with exit code {code}: "
                                   + " / ".join(line.strip() for line in output if line.strip()),
                                   capture.text)
            self.console.sendline(f"go {address}")

        self.transcript = BoardTranscript(self.console, bytes(capture.data))
        self.transcript.start()
        try:
            return self.transcript.wait_for(banner, self.boot_timeout, what=what)
        except ConsoleTimeout as timeout:
            self.transcript.stop()
            raise self._failed(f"{what}: not seen within {timeout.timeout_s:.1f} s after "
                               f"`go {address}` ({image})", self.transcript.text) from None

    def _failed(self, reason: str, console_log: str) -> BootError:
        """Power off and describe the failure with the console log so far."""
        self.console_log = console_log
        try:
            self.power.off()
        finally:
            self.target.deactivate(self.console)
        tail = "\n".join(console_log.splitlines()[-TAIL_LINES_IN_ERRORS:])
        return BootError(f"{reason}; console log ({len(console_log)} characters, "
                         f"last {TAIL_LINES_IN_ERRORS} lines):\n{tail}")


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def _forget_unmatched_input(console) -> None:
    """Drop what labgrid's expect buffer kept from an earlier boot (an old prompt
    in it would look like this boot's)."""
    expect = getattr(console, "_expect", None)  # labgrid's pexpect wrapper of the console
    if expect is not None:
        expect.buffer = expect.string_type()
