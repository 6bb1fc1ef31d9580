"""One configuration surface: every option declared in mmcorr.config is offered, with the same
default and bounds, by ``mmcorr train``, ``mmcorr jobs submit`` and the Train page; one seed sets the
split, the weights and the analyses on every entry point; bad values are the option's one line."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mmcorr._cli.options import job_spec_from_args
from mmcorr._validation import MmcorrError
from mmcorr.cli import build_parser, main
from mmcorr.config import (
    MODEL_NAMES,
    AnalysisConfig,
    DataConfig,
    JobSpec,
    ModelConfig,
    Option,
    TrainConfig,
    all_options,
    build_job_spec,
    max_latent_dim,
    options,
    resolve_lr,
)

ROOT = Path(__file__).resolve().parents[1]
#: The leading arguments of each command, enough to parse (nothing runs).
COMMANDS: dict[str, list[str]] = {
    "train": ["train", "--dataset", "ds", "--out", "run-dir"],
    "jobs submit": ["jobs", "submit", "--dataset", "ds"],
}
CONFIGS = (ModelConfig, TrainConfig, DataConfig, AnalysisConfig)
OFFERED = [opt for opt in all_options() if not opt.follows_seed]


def _spec(command: str, *extra: str) -> JobSpec:
    args = build_parser().parse_args([*COMMANDS[command], *extra])
    return job_spec_from_args(args, "ds", "")


def _text(value: float) -> str:
    return repr(value)


# -- the declarations -------------------------------------------------------------------------------


def test_every_field_of_every_config_is_an_option_with_help_and_a_valid_default() -> None:
    import dataclasses

    for cls in CONFIGS:
        assert [o.name for o in options(cls)] == [f.name for f in dataclasses.fields(cls)]
    for opt in all_options():
        assert opt.help.endswith(".") and opt.label, opt.name
        opt.check(opt.default)  # the declared default is allowed by the declared range
        if opt.kind in ("int", "float", "sizes"):
            assert opt.lo is not None and opt.hi is not None and opt.lo < opt.hi, opt.name
        if opt.kind == "choice":
            assert opt.default in opt.choices, opt.name
    # the seeds of the split and the analyses follow the one training seed, nothing else does
    assert {(o.section, o.name) for o in all_options() if o.follows_seed} == {
        ("data", "split_seed"),
        ("analysis", "seed"),
    }


def test_defaults_of_the_builder_are_the_dataclass_defaults() -> None:
    spec = build_job_spec("ds")
    assert spec == JobSpec(dataset_id="ds", train=TrainConfig(lr=resolve_lr(ModelConfig().model)))


# -- the command line -------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_offers_every_option_with_its_default_and_help(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = build_parser().parse_args(COMMANDS[command])
    for opt in OFFERED:
        expected = None if opt.per_model_default else opt.default
        assert getattr(args, opt.name) == expected, opt.flag
    with pytest.raises(SystemExit):
        main([*COMMANDS[command][: 2 if command == "jobs submit" else 1], "--help"])
    helptext = "".join(capsys.readouterr().out.split())  # argparse wraps lines (also at hyphens)
    for opt in OFFERED:
        assert opt.flag in helptext, opt.flag
        assert "".join(opt.help.split()) in helptext, opt.flag
    # parsed defaults build the library's default spec (lr: the model family's tuned rate)
    assert _spec(command) == build_job_spec("ds")


def _bounds_cases() -> Iterator[Any]:
    for command in COMMANDS:
        for opt in OFFERED:
            if opt.kind in ("int", "float"):
                yield pytest.param(command, opt, id=f"{command}-{opt.name}")


@pytest.mark.parametrize(("command", "opt"), list(_bounds_cases()))
def test_cli_accepts_exactly_the_declared_range(command: str, opt: Option) -> None:
    assert opt.lo is not None and opt.hi is not None
    if opt.kind == "int":  # the first values outside the range are one away
        inside, outside = [int(opt.lo), int(opt.hi)], [int(opt.lo) - 1, int(opt.hi) + 1]
    else:  # ... or the next float
        lo, hi = float(opt.lo), float(opt.hi)
        inside = [math.nextafter(lo, math.inf) if opt.lo_open else lo, hi]
        outside = [lo if opt.lo_open else math.nextafter(lo, -math.inf), math.nextafter(hi, math.inf)]
    for value in inside:
        spec = _spec(command, f"{opt.flag}={_text(value)}")
        assert getattr(getattr(spec, opt.section), opt.name) == value
    for value in outside:
        with pytest.raises(MmcorrError, match=rf"The '{opt.name}' parameter must be"):
            _spec(command, f"{opt.flag}={_text(value)}")


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_choices_and_switches_are_the_declared_ones(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for opt in OFFERED:
        if opt.kind == "choice":
            for choice in opt.choices:
                assert getattr(getattr(_spec(command, opt.flag, choice), opt.section), opt.name) == choice
            with pytest.raises(SystemExit) as info:
                _spec(command, opt.flag, "nope")
            assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err
        elif opt.kind == "bool":
            on, off = opt.flag, "--no-" + opt.flag[2:]
            assert getattr(getattr(_spec(command, on), opt.section), opt.name) is True
            assert getattr(getattr(_spec(command, off), opt.section), opt.name) is False


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("hidden", [["128", "64"], ["128,64"], ["128,", "64"]])
def test_hidden_takes_both_forms_on_both_commands(command: str, hidden: list[str]) -> None:
    assert _spec(command, "--hidden", *hidden).model.hidden == (128, 64)


@pytest.mark.parametrize("command", COMMANDS)
def test_bad_hidden_is_a_usage_error_on_both_commands(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        _spec(command, "--hidden", "a,b")
    assert info.value.code == 2 and "--hidden must be comma-separated" in capsys.readouterr().err


# -- one seed ---------------------------------------------------------------------------------------


def _seeds(spec: JobSpec) -> tuple[int, int, int]:
    return spec.train.seed, spec.data.split_seed, spec.analysis.seed


@pytest.mark.parametrize("command", COMMANDS)
def test_one_seed_sets_split_weights_and_analyses_on_the_command_line(command: str) -> None:
    assert _seeds(_spec(command, "--seed", "7")) == (7, 7, 7)
    assert _seeds(_spec(command)) == (0, 0, 0)


def test_one_seed_sets_split_weights_and_analyses_in_python() -> None:
    assert _seeds(build_job_spec("ds", seed=11)) == (11, 11, 11)


def test_split_and_analysis_seeds_are_not_options_of_their_own() -> None:
    with pytest.raises(MmcorrError, match=r"Unknown option\(s\) \['split_seed'\]"):
        build_job_spec("ds", split_seed=3)
    with pytest.raises(SystemExit):
        build_parser().parse_args([*COMMANDS["jobs submit"], "--split-seed", "3"])


# -- bad values: the option's one line, on the builder and both commands -------------------------------

BAD: list[tuple[str, Any, str]] = [
    ("latent_dim", 0, r"The 'latent_dim' parameter must be an int in \[1, 512\]\. Got 0 instead\."),
    ("latent_dim", 513, r"The 'latent_dim' parameter must be an int in \[1, 512\]\. Got 513 instead\."),
    ("hidden", (0,), r"The 'hidden' parameter must be a sequence of layer sizes, each an int in \[1, 8192\]"),
    ("dropout", 0.95, r"The 'dropout' parameter must be a number in \[0\.0, 0\.9\]\. Got 0\.95 instead\."),
    ("lr", 0.0, r"The 'lr' parameter must be a number in \[1e-06, 1\.0\]\. Got 0\.0 instead\."),
    ("epochs", 0, r"The 'epochs' parameter must be an int in \[1, 10000\]\. Got 0 instead\."),
    ("seed", -1, r"The 'seed' parameter must be an int in \[0, 4294967295\]\. Got -1 instead\."),
    ("seed", 2**32, r"The 'seed' parameter must be an int in \[0, 4294967295\]\. Got 4294967296"),
    ("threads", 0, r"The 'threads' parameter must be an int in \[1, 256\]\. Got 0 instead\."),
    ("pca_dim", 0, r"The 'pca_dim' parameter must be an int in \[1, 100000\]\. Got 0 instead\."),
    ("val_fraction", 0.0, r"The 'val_fraction' parameter must be a number in \(0\.0, 0\.5\]\. Got 0\.0"),
    ("fdr", 0.0, r"The 'fdr' parameter must be a number in \(0\.0, 1\.0\]\. Got 0\.0 instead\."),
    ("permutations", 100001, r"The 'permutations' parameter must be an int in \[0, 100000\]\. Got 100001"),
    (
        "model",
        "pca",
        r"The 'model' parameter must be one of 'cca', 'ae', 'corrae', 'dccae', 'mvae', 'auto'\.",
    ),
    ("device", "tpu", r"The 'device' parameter must be one of 'auto', 'cpu', 'cuda', 'mps'\. Got 'tpu'"),
    ("standardize", "yes", r"The 'standardize' parameter must be True or False\. Got 'yes' instead\."),
    ("latent", 3, r"Unknown option\(s\) \['latent'\]\. Allowed: \['activation', 'auto_budget_s',"),
]


@pytest.mark.parametrize(("name", "value", "message"), BAD, ids=[f"{n}={v!r}" for n, v, _ in BAD])
def test_bad_value_is_one_line_naming_the_option(name: str, value: Any, message: str) -> None:
    with pytest.raises(MmcorrError, match=message) as info:
        build_job_spec("ds", **{name: value})
    assert "\n" not in str(info.value)


OFFERED_NAMES = {opt.name for opt in OFFERED}
CLI_BAD = [(n, v, m) for n, v, m in BAD if isinstance(v, int | float) and n in OFFERED_NAMES]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(("name", "value", "message"), CLI_BAD, ids=[f"{n}={v!r}" for n, v, _ in CLI_BAD])
def test_bad_value_on_the_command_line_exits_1_with_one_line(
    command: str,
    name: str,
    value: Any,
    message: str,
    mmcorr_home: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [*COMMANDS[command], "--" + name.replace("_", "-"), _text(value)]
    if command == "train":
        argv[argv.index("run-dir")] = str(tmp_path / "run")
    else:
        argv.append("--no-worker")
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("mmcorr: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(message, err)
    assert not (tmp_path / "run").exists()


# -- the narrowest-modality rule of linear CCA, declared once --------------------------------------


def test_max_latent_dim_is_the_narrowest_modality_for_cca_only() -> None:
    assert max_latent_dim("cca", [20, 30, 15]) == 15
    assert max_latent_dim("cca", [2000, 3000], pca_dim=50) == 50
    assert max_latent_dim("cca", [2000, 3000]) == 512  # the option's own upper bound
    assert all(max_latent_dim(m, [3]) == 512 for m in MODEL_NAMES if m != "cca")


# -- the Train page -----------------------------------------------------------------------------------


@pytest.fixture
def train_page(mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The Train page under AppTest, with one registered dataset (modalities of 20, 30, 15 features)."""
    from streamlit.testing.v1 import AppTest

    from mmcorr.data import DatasetRegistry, make_demo

    monkeypatch.syspath_prepend(str(ROOT))  # pages import pages._ui, as under `streamlit run`
    monkeypatch.delenv("MMCORR_PASSWORD", raising=False)
    DatasetRegistry().save(make_demo("synthetic", seed=0, n_samples=120), "tiny")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("pages/train.py")
    app.run()
    assert [e.value for e in app.exception] == []
    return app


def _widget(app: Any, opt: Option, model: str = ModelConfig().model) -> Any:
    key = f"{opt.name}_{model}" if opt.per_model_default else opt.name
    kind = {"choice": "selectbox", "bool": "checkbox", "sizes": "text_input"}.get(opt.kind)
    if kind is None:
        kind = "slider" if opt.slider else "number_input"
    return getattr(app, kind)(key=key)


def test_train_page_offers_every_option_with_the_same_default_and_bounds(train_page: Any) -> None:
    app = train_page
    narrowest = 15  # the synthetic demo's modalities have 20, 30 and 15 features
    for opt in OFFERED:
        w = _widget(app, opt)
        assert opt.help in w.help, opt.name
        if opt.kind == "choice":
            assert (list(w.options), w.value) == (list(opt.choices), opt.default), opt.name
        elif opt.kind == "bool":
            assert w.value is opt.default, opt.name
        elif opt.kind == "sizes":
            assert w.value == ",".join(str(s) for s in opt.default), opt.name
        else:
            lo = opt.lo + (opt.step or 0) if opt.lo_open else opt.lo
            assert (w.min, w.max) == pytest.approx((lo, opt.hi)), opt.name
            default = resolve_lr(ModelConfig().model) if opt.per_model_default else opt.default
            if opt.name == "latent_dim":
                default = min(opt.default, narrowest)
            assert w.value == default, opt.name
    # the seeds that follow "Seed" have no widget of their own
    assert [w for w in app.number_input if w.key in ("split_seed", "analysis_seed")] == []


def test_train_page_one_seed_reaches_split_weights_and_analyses(train_page: Any) -> None:
    app = train_page
    app.selectbox(key="model").set_value("cca")
    app.number_input(key="seed").set_value(7)
    app.text_input(key="hidden").set_value("32 16")
    app.checkbox(key="log1p").check()
    app.button(key="train").click().run()
    assert [e.value for e in app.exception] == [] and [e.value for e in app.error] == []
    from mmcorr.jobs import get_job

    spec = get_job(app.session_state["mmcorr_job_id"]).spec
    assert _seeds(spec) == (7, 7, 7)
    assert spec.model.hidden == (32, 16) and spec.data.log1p is True
    assert spec.train.lr == resolve_lr("cca")
    assert isinstance(spec, JobSpec) and spec == build_job_spec(
        spec.dataset_id, model="cca", seed=7, latent_dim=10, hidden=(32, 16), log1p=True
    )


def test_train_page_bad_layer_sizes_show_the_options_message(train_page: Any) -> None:
    app = train_page
    app.text_input(key="hidden").set_value("0,8")
    app.button(key="train").click().run()
    assert any("The 'hidden' parameter must be a sequence of layer sizes" in e.value for e in app.error)


def test_parse_namespace_only_carries_declared_options() -> None:
    # nothing but the declared options (plus each command's own flags) reaches the builder
    args = build_parser().parse_args(COMMANDS["jobs submit"])
    own = {"dataset", "val_dataset", "test_dataset", "name", "no_worker", "wait", "func", "command"}
    own.add("jobs_command")
    assert set(vars(args)) - own == {opt.name for opt in OFFERED}
