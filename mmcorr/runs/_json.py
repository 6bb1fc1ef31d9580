"""Strict readers of the JSON a run bundle holds: every error names the file and the key.

A malformed file fails loudly here (MmcorrError) instead of turning into ``.get(...) or []`` further
up. ``where`` is a readable location such as ``"run/metrics.json: canonical.a|b"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from mmcorr._validation import MmcorrError

__all__ = [
    "as_object",
    "req",
    "opt_number",
    "number",
    "numbers",
    "opt_numbers",
    "integer",
    "text",
    "opt_text",
]

_MISSING = object()


def _bad(where: str, key: str, what: str, got: Any) -> MmcorrError:
    shown = "nothing (the key is missing)" if got is _MISSING else repr(got)[:80]
    return MmcorrError(f"The run file {where} is malformed: {key!r} must be {what}. Got {shown} instead.")


def as_object(value: Any, where: str, key: str = "") -> Mapping[str, Any]:
    """``value`` if it is a JSON object (dict), else MmcorrError."""
    if not isinstance(value, Mapping):
        raise _bad(where, key or "the file", "a JSON object", value)
    return value


def req(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise _bad(where, key, "present", _MISSING)
    return obj[key]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def opt_number(obj: Mapping[str, Any], key: str, where: str) -> float | None:
    """A number or null (absent counts as null); NaN was written as null."""
    value = obj.get(key)
    if value is None:
        return None
    if not _is_number(value):
        raise _bad(where, key, "a number or null", value)
    return float(value)


def number(obj: Mapping[str, Any], key: str, where: str) -> float:
    """A required number; null stands for NaN (json_safe writes NaN as null)."""
    value = req(obj, key, where)
    if value is None:
        return math.nan
    if not _is_number(value):
        raise _bad(where, key, "a number", value)
    return float(value)


def numbers(obj: Mapping[str, Any], key: str, where: str) -> tuple[float, ...]:
    """A required list of numbers (null entries become NaN)."""
    value = req(obj, key, where)
    if not isinstance(value, list) or not all(v is None or _is_number(v) for v in value):
        raise _bad(where, key, "a list of numbers", value)
    return tuple(math.nan if v is None else float(v) for v in value)


def opt_numbers(obj: Mapping[str, Any], key: str, where: str) -> tuple[float, ...] | None:
    return None if obj.get(key) is None else numbers(obj, key, where)


def integer(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = req(obj, key, where)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad(where, key, "an integer", value)
    return value


def text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = req(obj, key, where)
    if not isinstance(value, str):
        raise _bad(where, key, "a string", value)
    return value


def opt_text(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(where, key, "a string or null", value)
    return value


def boolean(obj: Mapping[str, Any], key: str, where: str) -> bool:
    value = req(obj, key, where)
    if not isinstance(value, bool):
        raise _bad(where, key, "true or false", value)
    return value


def objects(obj: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    """The list of JSON objects under ``key`` ([] when absent)."""
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise _bad(where, key, "a list of JSON objects", value)
    return value
