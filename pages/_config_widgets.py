"""The Train page's option widgets, generated from the options declared in ``mmcorr.config``.

Not a page itself. Each option gives one widget with the option's label, default, bounds and help
text, keyed by the option's name (the learning rate by ``lr_<model>``: switching models shows that
model's tuned rate and keeps a rate the user typed). The values come back by option name, ready for
``mmcorr.config.build_job_spec``; the config checks them, so a bad value is its one-line message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from mmcorr.config import Option, all_options, parse_sizes, resolve_lr

__all__ = [
    "ROW",
    "SECTIONS",
    "GIVEN_SETS",
    "form_options",
    "render_given_sets",
    "render_option",
    "render_options",
    "widget_key",
    "widget_values",
]

#: Widgets per row.
ROW = 4
#: The JobSpec parts, as the "Advanced options" expander titles them.
SECTIONS: dict[str, str] = {
    "model": "Model",
    "train": "Training",
    "data": "Data and split",
    "analysis": "Held-out analyses",
}


#: The JobSpec fields of the user's own validation / test set: (widget label, fraction it replaces, use).
GIVEN_SETS: dict[str, tuple[str, str, str]] = {
    "val_dataset_id": ("Validation set", "validation fraction", "early stopping"),
    "test_dataset_id": ("Test set", "test fraction", "the held-out analyses"),
}


def render_given_sets(training: Any, datasets: Sequence[Any]) -> dict[str, str | None]:
    """Two selectboxes: a registered dataset as the validation / test set (default: none, split the
    training dataset by the fractions). Offered: the other datasets with the training dataset's
    modalities and feature counts (the worker checks the feature names). Values by JobSpec field."""
    like = [d for d in datasets if d.id != training.id and dict(d.modalities) == dict(training.modalities)]
    labels = {
        None: "none: split the training dataset",
        **{d.id: f"{d.name} · {d.n_samples:,} samples" for d in like},
    }
    chosen: dict[str, str | None] = {}
    for column, (field, (label, fraction, use)) in zip(st.columns(2), GIVEN_SETS.items(), strict=True):
        chosen[field] = column.selectbox(
            label,
            list(labels),
            format_func=labels.__getitem__,
            key=field,
            help=f"A registered dataset with the same modalities and features as the training dataset, "
            f"used for {use} instead of the {fraction}: the training dataset is split only into the "
            f"parts not given. Datasets with other modalities or widths are not offered.",
        )
    return chosen


def form_options() -> dict[str, Option]:
    """The options the page offers, by name (the split's and the analyses' seeds follow "Seed")."""
    return {opt.name: opt for opt in all_options() if not opt.follows_seed}


def widget_key(opt: Option, model: str) -> str:
    """The session-state key of ``opt``'s widget (one learning-rate widget per model family)."""
    return f"{opt.name}_{model}" if opt.per_model_default else opt.name


def _help(opt: Option, extra: str) -> str:
    return f"{opt.help} Allowed: {opt.range_text}.{extra}"


def render_option(container: Any, opt: Option, model: str, default: Any = None, extra_help: str = "") -> Any:
    """Draw ``opt``'s widget in ``container``; its value (``default`` overrides the option's)."""
    if default is None:
        default = resolve_lr(model) if opt.per_model_default else opt.default
    common: dict[str, Any] = {
        "key": widget_key(opt, model),
        "help": _help(opt, extra_help),
        "disabled": opt.deep_only and model == "cca",  # closed form: no epochs, batches or rate
    }
    if opt.kind == "choice":
        return container.selectbox(opt.label, list(opt.choices), opt.choices.index(default), **common)
    if opt.kind == "bool":
        return container.checkbox(opt.label, bool(default), **common)
    if opt.kind == "sizes":
        return container.text_input(opt.label, ",".join(str(s) for s in default), **common)
    if opt.kind == "int":
        return container.number_input(
            opt.label,
            int(opt.lo or 0),
            int(opt.hi or 0),
            default,
            1,
            placeholder=opt.none_means or None,
            **common,
        )
    lo, hi = float(opt.lo or 0.0), float(opt.hi or 0.0)
    if opt.lo_open:  # a widget has closed bounds: its lowest value is one step above the open end
        lo += float(opt.step or 0.0)
    if opt.slider:
        return container.slider(opt.label, lo, hi, float(default), opt.step, **common)
    return container.number_input(opt.label, lo, hi, float(default), opt.step, format=opt.fmt, **common)


def render_options(
    opts: Sequence[Option],
    model: str,
    defaults: dict[str, Any] | None = None,
    extra_help: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Draw ``opts`` in rows of ``ROW`` columns; their raw widget values by option name."""
    values: dict[str, Any] = {}
    for start in range(0, len(opts), ROW):
        row = opts[start : start + ROW]
        for column, opt in zip(st.columns(ROW), row, strict=False):
            values[opt.name] = render_option(
                column, opt, model, (defaults or {}).get(opt.name), (extra_help or {}).get(opt.name, "")
            )
    return values


def widget_values(opts: dict[str, Option], raw: dict[str, Any]) -> dict[str, Any]:
    """Raw widget values as option values: layer sizes parsed from their text (MmcorrError if bad)."""
    return {
        name: parse_sizes(name, value) if opts[name].kind == "sizes" else value for name, value in raw.items()
    }
