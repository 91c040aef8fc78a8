"""Linux's user side, for Linux as OVM's host (issue 13), and the same Linux booted natively.

The kernel is Debian's armmp (the Linux baseline's, ``env/setup.sh`` fetches
it); what runs on it comes from here:

- ``initramfs``: the newc cpio writer and the "host" initramfs (busybox,
  rt-tests' cyclictest and hackbench with their libraries, the lab's programs, an
  ``/init`` that ends in an interactive shell on ``/dev/console``);
- ``userland``: the rt-tests binaries and the shared libraries they need,
  resolved and version-checked against what ``env/setup.sh`` unpacked;
- ``programs``: the lab's C programs for Linux: ``vfpcheck``, the VFP/NEON
  preservation check, and ``switchprobe``, the Linux side of OVM's vCPU switches;
- ``shell``: Linux's console as a labgrid shell (``NetworkSerialPort`` over a
  QEMU TCP serial, ``SerialDriver``, ``ShellDriver``) with a transcript;
- ``native``: the kernel and host initramfs on QEMU without OVM;
- ``cyclictest``: running cyclictest through the shell and reading its JSON.

Modules import their heavier dependencies (labgrid, QEMU settings) themselves;
importing this package costs nothing.
"""

from __future__ import annotations


class LinuxUserError(RuntimeError):
    """Linux's user side could not be built, booted or read; the message says what and why."""
