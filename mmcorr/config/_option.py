"""The :class:`Option` record behind every configuration field, and its helpers.

:func:`option` makes a dataclass field whose metadata declares the option once: kind, default,
range, choices, help text and how the command line and the Train page show it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from mmcorr._validation import MmcorrError, check_choice, check_float, check_int

__all__ = ["Option", "OptionKind", "document", "option", "parse_sizes"]

OptionKind = Literal["int", "float", "choice", "bool", "sizes"]


@dataclass(frozen=True)
class Option:
    """One configuration option, as declared on its dataclass field.

    section: the JobSpec part holding it (``model``, ``train``, ``data``, ``analysis``).
    kind: ``int`` / ``float`` (a number in [lo, hi], ``(lo, hi]`` when ``lo_open``), ``choice``
        (one of ``choices``), ``bool`` or ``sizes`` (a tuple of ints in [lo, hi], e.g. layer sizes).
    optional: None is allowed and means ``none_means`` ("off", "torch's default").
    per_model_default: the surfaces offer None, meaning the model family's value (``resolve_lr``).
    follows_seed: set by :func:`build_job_spec` from the one seed; no flag or widget of its own.
    advanced: the Train page shows it under "Advanced options".
    deep_only: means nothing for closed-form linear CCA (the page disables it there).
    step / fmt / slider: how the Train page's number widget steps, formats and looks.
    """

    section: str
    name: str
    kind: OptionKind
    default: Any
    help: str
    label: str
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[str, ...] = ()
    optional: bool = False
    none_means: str = ""
    per_model_default: bool = False
    follows_seed: bool = False
    advanced: bool = True
    deep_only: bool = False
    step: float | None = None
    fmt: str | None = None
    slider: bool = False

    @property
    def flag(self) -> str:
        """The command-line flag, e.g. ``--latent-dim``."""
        return "--" + self.name.replace("_", "-")

    @property
    def range_text(self) -> str:
        """The allowed values in words, e.g. ``[1, 512]`` or ``one of relu, gelu``."""
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "on or off"
        return f"{'(' if self.lo_open else '['}{self.number_text(self.lo)}, {self.number_text(self.hi)}]"

    def number_text(self, value: Any) -> str:
        """A bound or default as people read it: ints in full, floats short (``1e-06``)."""
        if self.kind in ("int", "sizes") and isinstance(value, int | float):
            return str(int(value))
        return f"{value:g}" if isinstance(value, float) else str(value)

    def check(self, value: Any) -> None:
        """Raise the one-line MmcorrError naming this option when ``value`` is not allowed."""
        if value is None and self.optional:
            return
        if self.kind == "int":
            check_int(self.name, value, int(self.lo or 0), int(self.hi or 0))
        elif self.kind == "float":
            check_float(self.name, value, float(self.lo or 0), self.hi, lo_open=self.lo_open)
        elif self.kind == "choice":
            check_choice(self.name, value, self.choices)
        elif self.kind == "bool":
            if not isinstance(value, bool):
                raise MmcorrError(
                    f"The '{self.name}' parameter must be True or False. Got {value!r} instead."
                )
        elif not isinstance(value, tuple) or not all(
            isinstance(h, int) and not isinstance(h, bool) and (self.lo or 0) <= h <= (self.hi or 0)
            for h in value
        ):
            raise MmcorrError(
                f"The '{self.name}' parameter must be a sequence of layer sizes, each an int in "
                f"[{self.lo:g}, {self.hi:g}]. Got {value!r} instead."
            )


def option(default: Any, label: str, help: str, **spec: Any) -> Any:
    """A dataclass field with its :class:`Option` metadata (kind inferred from the default)."""
    kind = spec.pop("kind", None) or (
        "choice" if "choices" in spec
        else "bool" if isinstance(default, bool)
        else "sizes" if isinstance(default, tuple)
        else "float" if isinstance(default, float)
        else "int"
    )  # fmt: skip
    return field(default=default, metadata={"option": {"kind": kind, "label": label, "help": help, **spec}})


def parse_sizes(name: str, text: str) -> tuple[int, ...]:
    """``"256,256"`` or ``"256 256"`` -> (256, 256); MmcorrError naming ``name`` otherwise.

    Only the syntax is checked here; the range is the option's own check.
    """
    try:
        sizes = tuple(int(part) for part in text.replace(",", " ").split())
    except ValueError:
        sizes = ()
    if not sizes:
        raise MmcorrError(
            f"The '{name}' parameter must be comma-separated layer sizes such as 256,256. "
            f"Got {text!r} instead."
        )
    return sizes


def document(cls: type, opts: Iterable[Option]) -> None:
    """Append each option's help, range and default to ``cls``'s docstring (declared once, on the field)."""
    lines = []
    for opt in opts:
        default = opt.none_means if opt.default is None else repr(opt.default)
        lines.append(f"    {opt.name}: {opt.help} Allowed: {opt.range_text}; default {default}.")
    cls.__doc__ = f"{cls.__doc__}\n\n" + "\n".join(lines) + "\n"
