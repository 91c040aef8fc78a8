"""Reading YAML files and checking the type and range of each value in them.

Every check takes an `At` naming where the value sits, so that a rejected value
is reported as "<file>: <key path>: <what is wrong>".
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, shorten

U32_MAX = 0xFFFF_FFFF

_SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
_SIZE_PATTERN = re.compile(r"(0x[0-9a-fA-F]+|[0-9]+)([KMG]?)")


@dataclass(frozen=True)
class At:
    """Where a value sits: its file and its key path inside that file."""

    file: Path
    key: str = ""

    def field(self, name: str) -> At:
        return At(self.file, f"{self.key}.{name}" if self.key else name)

    def item(self, index: int) -> At:
        return At(self.file, f"{self.key}[{index}]")

    def error(self, message: str) -> ConfigError:
        return ConfigError(self.file, self.key or None, message)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects a key given twice instead of keeping the last one."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (list, dict)):
                break  # unhashable: SafeLoader reports it with a better message
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """Python refuses to read an integer of more than 4,300 digits: say so, where."""
        try:
            return int(super().construct_yaml_int(node))
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"integer {node.value} is too long to be a number",
                node.start_mark) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def read_yaml(file: Path) -> object:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(file, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(file, None, f"cannot read file: {err}") from None
    if not text.strip():
        raise ConfigError(file, None, "file is empty")
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.MarkedYAMLError as err:
        where = ""
        if err.problem_mark is not None:
            where = f"line {err.problem_mark.line + 1}, column {err.problem_mark.column + 1}: "
        raise ConfigError(file, None, f"invalid YAML: {where}{err.problem}") from None
    except yaml.YAMLError as err:
        raise ConfigError(file, None, f"invalid YAML: {err}") from None


def describe(value: object) -> str:
    """A value as quoted in an error message."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return shorten(repr(value))


def mapping(
    value: object, at: At, required: Collection[str], optional: Collection[str] = ()
) -> dict[str, object]:
    """A mapping with exactly the given keys; unknown keys are rejected to catch typos."""
    if not isinstance(value, dict):
        raise at.error(f"expected a mapping, got {describe(value)}")
    allowed = set(required) | set(optional)
    for key in value:
        if key not in allowed:
            raise at.field(str(key)).error(f"unknown key (allowed: {', '.join(sorted(allowed))})")
    for key in sorted(required):
        if key not in value:
            raise at.field(key).error("required key missing")
    return value


def sequence(value: object, at: At) -> list[object]:
    if not isinstance(value, list):
        raise at.error(f"expected a list, got {describe(value)}")
    return value


def string(value: object, at: At) -> str:
    if not isinstance(value, str):
        raise at.error(f"expected a string, got {describe(value)}")
    return value


def choice(value: object, at: At, allowed: Collection[str]) -> str:
    if value not in allowed:
        raise at.error(f"{describe(value)} is not one of: {', '.join(sorted(allowed))}")
    assert isinstance(value, str)
    return value


def integer(value: object, at: At, low: int, high: int) -> int:
    # bool is an int subclass, but "cores: yes" is a mistake, not 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise at.error(f"expected an integer, got {describe(value)}")
    if not low <= value <= high:
        raise at.error(f"{value} is out of range {low}..{high}")
    return value


def address(value: object, at: At, alignment: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise at.error(f"expected an address (integer), got {describe(value)}")
    if not 0 <= value <= U32_MAX:
        raise at.error(f"{value:#x} is not a 32-bit address")
    _check_alignment(value, at, alignment)
    return value


def parse_size(value: object) -> int | None:
    """Bytes given as an integer or a string like "256M"; None if it is neither.

    Suffixes are binary (K = 1024) because these are memory quantities.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    match = _SIZE_PATTERN.fullmatch(value.strip())
    if match is None:
        return None
    number, suffix = match.groups()
    return int(number, 0) * _SIZE_SUFFIXES[suffix]


def size(value: object, at: At, *, multiple_of: int = 1) -> int:
    """A memory size: positive and a multiple of `multiple_of` bytes."""
    parsed = _bytes(value, at)
    if parsed == 0:
        raise at.error(f"{describe(value)} must be greater than 0")
    if parsed % multiple_of:
        raise at.error(f"{parsed:#x} is not a multiple of {format_size(multiple_of)}")
    return parsed


def offset(value: object, at: At, *, alignment: int = 1) -> int:
    """A memory offset: may be zero, aligned to `alignment` bytes."""
    parsed = _bytes(value, at)
    _check_alignment(parsed, at, alignment)
    return parsed


def format_size(n: int) -> str:
    for unit, name in ((1 << 20, "MiB"), (1 << 10, "KiB")):
        if n and n % unit == 0:
            return f"{n // unit} {name}"
    return f"{n:#x} bytes"


def _bytes(value: object, at: At) -> int:
    parsed = parse_size(value)
    if parsed is None:
        raise at.error(
            f"{describe(value)} is not a size: use an integer or a string like '256M' "
            "(suffix K, M or G)"
        )
    if parsed < 0:
        raise at.error(f"{describe(value)} must not be negative")
    if parsed > U32_MAX + 1:
        raise at.error(f"{describe(value)} does not fit in the 32-bit address space")
    return parsed


def _check_alignment(value: int, at: At, alignment: int) -> None:
    if value % alignment:
        raise at.error(f"{value:#x} is not aligned to {format_size(alignment)}")


def boolean(value: object, at: At) -> bool:
    if not isinstance(value, bool):
        raise at.error(f"expected true or false, got {describe(value)}")
    return value
