"""rt-tests' programs for the host initramfs, with every shared library they load.

``env/setup.sh`` unpacks Debian's ``rt-tests:armhf`` and ``libnuma1:armhf``
into ``build/linux-armhf/rt-tests/`` (with a VERSION file); the C library and
the dynamic loader come from the cross sysroot that ``libc6-armhf-cross``
installs (``/usr/arm-linux-gnueabihf/lib``). Both are Debian 12's glibc 2.36.

The image gets what the loader will look for at run time: each DT_NEEDED
entry, recursively, resolved first in the unpacked packages, then in the
sysroot, and placed in ``/lib`` (one of the loader's default directories); the
loader at the program's PT_INTERP, which must be ``/lib/<its soname>``. Every
symbol version a file needs from a library (GNU verneed) must be one that
library defines (verdef): a sysroot older than the packages then fails here,
by name, instead of as "version `GLIBC_2.xx' not found" on a console.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.gnuversions import GNUVerDefSection, GNUVerNeedSection
from elftools.elf.segments import InterpSegment

from lab.paths import LINUX_DIR

from . import LinuxUserError

RT_TESTS = "rt-tests"  # the directory under build/linux-armhf/ that env/setup.sh fills
RT_PROGRAMS = ("cyclictest", "hackbench")
SYSROOT_LIB = Path("/usr/arm-linux-gnueabihf/lib")
IMAGE_LIB = PurePosixPath("/lib")
# Where the unpacked packages keep libraries (Debian's multiarch paths first).
PACKAGE_LIB_DIRS = ("usr/lib/arm-linux-gnueabihf", "lib/arm-linux-gnueabihf", "usr/lib", "lib")


@dataclass(frozen=True)
class ElfInfo:
    """What the dynamic loader reads from one file."""

    needed: tuple[str, ...]
    interpreter: str | None
    soname: str | None
    version_needs: dict[str, frozenset[str]]  # library soname -> symbol versions needed
    version_defs: frozenset[str]  # symbol versions this file defines


@dataclass(frozen=True)
class Userland:
    """rt-tests' programs and what they load, as files on this machine."""

    programs: dict[str, Path]  # name in /bin -> file
    libraries: dict[str, Path]  # soname (its name in /lib) -> file (symbolic links followed)
    loader: PurePosixPath  # the programs' PT_INTERP, one of the libraries in /lib
    versions: dict[str, str]  # rt-tests/VERSION: package -> "package:arch version"


def _tag_text(tag: Any, attribute: str) -> str:
    # pyelftools sets a string tag's text as an attribute named after the tag, untyped.
    return str(getattr(tag, attribute))


def read_elf(path: Path) -> ElfInfo:
    """The dynamic section, interpreter and symbol versions of an ARM ELF file."""
    try:
        with path.open("rb") as stream:
            elf = ELFFile(stream)
            if elf["e_machine"] != "EM_ARM" or elf.elfclass != 32:
                raise LinuxUserError(f"{path} is not a 32-bit ARM ELF file ({elf['e_machine']})")
            interpreter = next((segment.get_interp_name() for segment in elf.iter_segments()
                                if isinstance(segment, InterpSegment)), None)
            dynamic = elf.get_section_by_name(".dynamic")
            tags = list(dynamic.iter_tags()) if isinstance(dynamic, DynamicSection) else []
            needs: dict[str, frozenset[str]] = {}
            verneed = elf.get_section_by_name(".gnu.version_r")
            if isinstance(verneed, GNUVerNeedSection):
                for entry, aux in verneed.iter_versions():
                    if entry.name is not None:
                        needs[entry.name] = frozenset(item.name for item in aux)
            defs: set[str] = set()
            verdef = elf.get_section_by_name(".gnu.version_d")
            if isinstance(verdef, GNUVerDefSection):
                for _, aux in verdef.iter_versions():
                    defs.update(item.name for item in aux)
    except (OSError, ELFError) as error:
        raise LinuxUserError(f"{path}: cannot read it as ELF ({error})") from error
    return ElfInfo(
        needed=tuple(_tag_text(tag, "needed") for tag in tags if tag.entry.d_tag == "DT_NEEDED"),
        interpreter=interpreter,
        soname=next((_tag_text(tag, "soname") for tag in tags if tag.entry.d_tag == "DT_SONAME"),
                    None),
        version_needs=needs,
        version_defs=frozenset(defs),
    )


def resolve_libraries(programs: Mapping[str, Path], search: Sequence[Path]) -> dict[str, Path]:
    """Every library the programs load, by soname, found in ``search`` (in order); checked
    as the module's docstring says. Raises LinuxUserError naming what is missing."""
    libraries: dict[str, Path] = {}
    infos: dict[Path, ElfInfo] = {path: read_elf(path) for path in programs.values()}
    wanted = [name for path in programs.values() for name in infos[path].needed]
    while wanted:
        name = wanted.pop(0)
        if name in libraries:
            continue
        found = next((directory / name for directory in search if (directory / name).exists()),
                     None)
        if found is None:
            users = sorted(str(path) for path, info in infos.items() if name in info.needed)
            raise LinuxUserError(
                f"{name} (needed by {', '.join(users)}) is in none of "
                f"{', '.join(map(str, search))}: run env/setup.sh")
        libraries[name] = found.resolve()
        infos[libraries[name]] = info = read_elf(libraries[name])
        wanted.extend(info.needed)
    for path, info in infos.items():
        if info.interpreter is not None and (
                PurePosixPath(info.interpreter).parent != IMAGE_LIB
                or PurePosixPath(info.interpreter).name not in libraries):
            raise LinuxUserError(
                f"{path} asks for the loader {info.interpreter}: the image has only "
                f"{IMAGE_LIB}/<library>, from {', '.join(sorted(libraries))}")
        for library, versions in info.version_needs.items():
            if library not in libraries:
                continue  # a verneed for a library not NEEDED is the linker's business
            missing = versions - infos[libraries[library]].version_defs
            if missing:
                raise LinuxUserError(
                    f"{path} needs {', '.join(sorted(missing))} of {library}, which "
                    f"{libraries[library]} does not define: the C library is older than the "
                    "packages (env/setup.sh fetches them for this Debian release)")
    return libraries


def _key_values(path: Path) -> dict[str, str]:
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {key: value for key, sep, value in pairs if sep}


def find_userland(linux_dir: Path = LINUX_DIR, sysroot: Path = SYSROOT_LIB) -> Userland:
    """cyclictest and hackbench from ``linux_dir``/rt-tests, with their libraries."""
    root = linux_dir / RT_TESTS
    programs = {name: root / "usr" / "bin" / name for name in RT_PROGRAMS}
    missing = [str(path) for path in (root / "VERSION", *programs.values()) if not path.is_file()]
    if missing:
        raise LinuxUserError(
            f"{', '.join(missing)} missing: run env/setup.sh (it unpacks Debian's rt-tests:armhf)")
    if not (sysroot / "libc.so.6").is_file():
        raise LinuxUserError(f"{sysroot} has no libc.so.6: run env/setup.sh "
                             "(it installs libc6-dev-armhf-cross)")
    search = [root / sub for sub in PACKAGE_LIB_DIRS if (root / sub).is_dir()] + [sysroot]
    libraries = resolve_libraries(programs, search)
    loaders = {read_elf(path).interpreter for path in programs.values()}
    if len(loaders) != 1 or None in loaders:
        raise LinuxUserError(f"rt-tests' programs ask for loaders {sorted(map(str, loaders))}, "
                             "not one")
    return Userland(programs=programs, libraries=libraries,
                    loader=PurePosixPath(str(loaders.pop())), versions=_key_values(root / "VERSION"))
