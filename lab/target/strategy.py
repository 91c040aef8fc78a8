"""labgrid strategy: bring a target to "OVM running".

``OVMStrategy`` serves every target whose power switch starts OVM by itself:
QEMU (the ``QEMUDriver`` is both power and console) and the lab's virtual
board. Its states are ``off``, ``ovm`` and ``native`` (a guest program
built to run without OVM, the evaluation's baseline, selected with
``select_image`` like any image); any state reaches any other.
"""

from __future__ import annotations

import enum
import logging
import re
import signal
import subprocess
from pathlib import Path

import attr
from labgrid.factory import target_factory
from labgrid.step import step
from labgrid.strategy import Strategy, StrategyError, never_retry

from .banner import BANNER_PATTERN, NATIVE_BANNER_PATTERN, Banner, NativeBanner
from .transcript import ConsoleTimeout, ConsoleTranscript

log = logging.getLogger(__name__)


class Status(enum.Enum):
    unknown = 0
    off = 1
    ovm = 2
    native = 3


class BootError(Exception):
    """OVM did not come up; the message carries the console log."""


@target_factory.reg_driver
@attr.s(eq=False)
class OVMStrategy(Strategy):
    bindings = {
        "power": "PowerProtocol",
        "console": "ConsoleProtocol",
    }

    status = attr.ib(default=Status.unknown)
    boot_timeout = attr.ib(default=30.0, converter=float)

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        self.transcript: ConsoleTranscript | None = None
        self.banner: Banner | None = None
        self.native_banner: NativeBanner | None = None
        self._default_image: str | None = None

    def select_image(self, image: Path | None) -> None:
        """Boot ``image`` from the next transition on (None: the environment's own).

        The power driver must be labgrid's ``QEMUDriver``: its ``-kernel`` is fixed
        when it activates, so a new image means off, deactivate, new path.
        """
        qemu = self.power
        images = self.target.env.config.data.setdefault("images", {})
        if self._default_image is None:
            self._default_image = images.get(qemu.kernel)
        wanted = str(image) if image is not None else self._default_image
        if images.get(qemu.kernel) == wanted:
            return
        self.transition(Status.off)
        self.target.deactivate(qemu)
        images[qemu.kernel] = wanted

    @never_retry
    @step(args=["status"])
    def transition(self, status, *, step):  # noqa: ARG002 - labgrid's step passes itself
        if not isinstance(status, Status):
            status = Status[status]
        if status == Status.unknown:
            raise StrategyError(f"can not transition to {status}")
        if status == self.status:
            return
        if status == Status.off:
            self._power_off()
        elif status == Status.ovm:
            self.transition(Status.off)
            self.banner = Banner.from_match(self._boot(BANNER_PATTERN, "OVM's boot banner"))
        elif status == Status.native:
            self.transition(Status.off)
            self.native_banner = NativeBanner.from_match(
                self._boot(NATIVE_BANNER_PATTERN, "a native program's NATIVE line")
            )
        self.status = status

    def force(self, status):
        if not isinstance(status, Status):
            status = Status[status]
        self.status = status

    def emulator_end(self) -> str | None:
        """How the emulator ended by itself, if the power driver is labgrid's QEMUDriver and
        its QEMU is gone: the exit status or the signal. None while it runs, or elsewhere."""
        return self._qemu_driver_end()

    def _qemu_driver_end(self) -> str | None:
        child = getattr(self.power, "_child", None)  # the QEMUDriver's QEMU process
        code = child.poll() if isinstance(child, subprocess.Popen) else None
        if code is None:
            return None
        if code < 0:
            return f"QEMU was killed by signal {signal.Signals(-code).name}"
        return f"QEMU exited by itself with status {code}"

    def _power_off(self) -> None:
        ended = self._qemu_driver_end()
        if ended is not None:
            # The QEMUDriver would ask the dead QEMU to quit and fail on the closed pipe (on
            # deactivation too): the process is reaped already, so the driver is told so.
            log.warning("power off: %s", ended)
            self.power._child = None  # noqa: SLF001
            self.power.status = 0
        self.target.deactivate(self.console)
        self.target.activate(self.power)
        self.power.off()
        if self.transcript:
            self.transcript.stop()
        self.transcript = None
        self.banner = None
        self.native_banner = None

    def _boot(self, banner: re.Pattern[str], what: str) -> re.Match[str]:
        self.target.activate(self.console)
        self.transcript = ConsoleTranscript(self.console)
        self.power.on()
        self.transcript.start()
        try:
            return self.transcript.wait_for(banner, self.boot_timeout, what=what)
        except ConsoleTimeout as timeout:
            self.power.off()
            self.transcript.stop()
            raise BootError(str(timeout)) from None
