"""The configuration flags of ``mmcorr train`` and ``mmcorr jobs submit``, generated from config.

Every option declared in :mod:`mmcorr.config` becomes one flag (``latent_dim`` -> ``--latent-dim``)
with its default, choices and help text; its range is checked by the config itself, so a bad value
is the one-line MmcorrError (exit 1) the Python API and the Train page give too. The seeds that
follow the one ``--seed`` (the split's and the analyses') have no flag of their own.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from mmcorr._validation import MmcorrError
from mmcorr.config import JobSpec, Option, all_options, build_job_spec, parse_sizes

__all__ = ["add_config_args", "config_overrides", "job_spec_from_args"]


def _sizes(text: str) -> tuple[int, ...]:
    """One ``--hidden`` token: ``128,64`` or ``128`` (``--hidden 128 64`` gives two tokens)."""
    try:
        return parse_sizes("hidden", text)
    except MmcorrError:
        raise argparse.ArgumentTypeError(
            f"--hidden must be comma-separated layer sizes such as 256,256 (or 256 256). Got {text!r}."
        ) from None


class _SizesAction(argparse.Action):
    """Joins every token of ``--hidden 128 64`` / ``--hidden 128,64`` into one tuple of ints."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        tokens: Sequence[tuple[int, ...]] = values if isinstance(values, list) else []
        setattr(namespace, self.dest, tuple(size for token in tokens for size in token))


def _help(opt: Option) -> str:
    if opt.per_model_default:
        default = "the model family's tuned value"
    elif opt.default is None:
        default = opt.none_means
    elif opt.kind == "sizes":
        default = ",".join(str(s) for s in opt.default)
    elif opt.kind == "bool":
        default = "on" if opt.default else "off"
    else:
        default = opt.number_text(opt.default)
    text = f"{opt.help} Allowed: {opt.range_text}; default: {default}."
    return text.replace("%", "%%")  # argparse %-formats help strings


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """Add one flag per configuration option (model, training, data, analysis) to ``parser``."""
    groups = {
        "model": parser.add_argument_group("model options"),
        "train": parser.add_argument_group("training options"),
        "data": parser.add_argument_group("data options"),
        "analysis": parser.add_argument_group("analysis options"),
    }
    for opt in all_options():
        if opt.follows_seed:
            continue
        group, help_text = groups[opt.section], _help(opt)
        default = None if opt.per_model_default else opt.default
        if opt.kind == "bool":
            group.add_argument(
                opt.flag, action=argparse.BooleanOptionalAction, default=default, help=help_text
            )
        elif opt.kind == "choice":
            group.add_argument(opt.flag, choices=opt.choices, default=default, help=help_text)
        elif opt.kind == "sizes":
            group.add_argument(
                opt.flag, type=_sizes, nargs="+", action=_SizesAction, default=default, help=help_text
            )
        else:
            number = int if opt.kind == "int" else float
            group.add_argument(opt.flag, type=number, default=default, help=help_text)


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The option values of parsed ``args`` by option name, for :func:`mmcorr.config.build_job_spec`."""
    return {opt.name: getattr(args, opt.name) for opt in all_options() if not opt.follows_seed}


def job_spec_from_args(args: argparse.Namespace, dataset_id: str, name: str) -> JobSpec:
    """The JobSpec of parsed ``args`` (bad values raise the option's MmcorrError)."""
    return build_job_spec(dataset_id, name=name, **config_overrides(args))
