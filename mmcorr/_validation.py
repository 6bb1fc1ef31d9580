"""The shared wording of every input error.

Every error a user can meet is a :class:`MmcorrError` (a ``ValueError``) whose message says what was
wrong, what is allowed and what was received, naming the file, column or parameter. The dashboard and
the command line show these messages verbatim, so they are written for people.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "MmcorrError",
    "DataError",
    "check_int",
    "check_float",
    "check_choice",
    "check_identifier",
    "IDENTIFIER_RE",
]

#: A safe modality / dataset name: starts with a letter, then letters, digits, '_' or '-', <= 64 chars.
IDENTIFIER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$")


class MmcorrError(ValueError):
    """Bad user input: the message is complete and fit to show to a person as it is."""


class DataError(MmcorrError):
    """A data file, column or row that cannot be used; the message names which."""


def check_int(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """Return ``value`` if it is an int in [lo, hi], else raise a MmcorrError naming ``name``."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    if ok and value >= lo and (hi is None or value <= hi):
        return int(value)
    upper = "inf)" if hi is None else f"{hi}]"
    raise MmcorrError(f"The '{name}' parameter must be an int in [{lo}, {upper}. Got {value!r} instead.")


def check_float(
    name: str,
    value: Any,
    lo: float,
    hi: float | None = None,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """Return ``value`` as float if it is a finite number in the range, else raise MmcorrError."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        v = float(value)
        above = v > lo if lo_open else v >= lo
        below = True if hi is None else (v < hi if hi_open else v <= hi)
        if above and below:
            return v
    left = "(" if lo_open else "["
    right = "inf)" if hi is None else (f"{hi})" if hi_open else f"{hi}]")
    raise MmcorrError(
        f"The '{name}' parameter must be a number in {left}{lo}, {right}. Got {value!r} instead."
    )


def check_choice(name: str, value: Any, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise MmcorrError listing the options."""
    options: Sequence[str] = list(allowed)
    if isinstance(value, str) and value in options:
        return value
    listed = ", ".join(repr(o) for o in options)
    raise MmcorrError(f"The '{name}' parameter must be one of {listed}. Got {value!r} instead.")


def check_identifier(kind: str, value: Any) -> str:
    """Return ``value`` if it is a safe name (see IDENTIFIER_RE), else raise MmcorrError."""
    if isinstance(value, str) and IDENTIFIER_RE.match(value):
        return value
    if isinstance(value, str) and not value.strip():
        raise MmcorrError(f"The {kind} name is empty. Give a name such as 'rna' or 'image_1'.")
    raise MmcorrError(
        f"The {kind} name must start with a letter and contain only letters, digits, '_' or '-' "
        f"(at most 64 characters). Got {value!r} instead."
    )
