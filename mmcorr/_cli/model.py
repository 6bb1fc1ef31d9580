"""``mmcorr train | encode | evaluate | predict | report``: the model commands of the command line.

Each command validates its arguments, calls one mmcorr function and prints a short result. Bad
input raises MmcorrError, which mmcorr/cli.py prints as one line with exit code 1 (argparse usage
errors exit with 2). torch loads only inside the commands that need a model.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from mmcorr._io import atomic_write_bytes, atomic_write_text
from mmcorr._validation import MmcorrError, check_identifier
from mmcorr.config import (
    MODEL_NAMES,
    AnalysisConfig,
    DataConfig,
    JobSpec,
    ModelConfig,
    TrainConfig,
    resolve_lr,
)
from mmcorr.jobs.bundle import JOINT, MetricsKey, json_safe, require_run

if TYPE_CHECKING:
    from mmcorr.data import Modality, PairedDataset
    from mmcorr.estimator import CorrelationModel

__all__ = ["register", "Progress", "parse_assignment"]

_PREDICT_FORMATS = (".npy", ".csv", ".tsv", ".parquet")


def parse_assignment(text: str) -> tuple[str, str]:
    """``NAME=PATH`` -> (NAME, PATH); an argparse type, so a malformed value exits with code 2."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH (e.g. rna=rna.csv), got {text!r}")
    return name.strip(), path.strip()


def _files(pairs: list[tuple[str, str]], flag: str = "--modality") -> dict[str, str]:
    files: dict[str, str] = {}
    for name, path in pairs:
        check_identifier("modality", name)
        if name in files:
            raise MmcorrError(f"The modality {name!r} is given twice with {flag}; give each name once.")
        files[name] = path
    return files


def _labels(text: str | None) -> tuple[str | None, str | None]:
    """``PATH:COL`` -> (PATH, COL); a bare PATH uses the table's only non-id column."""
    if text is None:
        return None, None
    path, sep, col = text.rpartition(":")
    return (path, col or None) if sep and path else (text, None)


class Progress:
    """A one-line progress bar on a terminal (``\\r`` updates); silent when the stream is not a tty."""

    def __init__(self, stream: IO[str] | None = None, width: int = 24) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.active = bool(getattr(self.stream, "isatty", lambda: False)())
        self.width = width
        self.drawn = False

    def on_epoch_end(self, record: dict[str, Any]) -> None:
        if not self.active:
            return None
        epoch, epochs = int(record.get("epoch", 0)), max(1, int(record.get("epochs", 1)))
        filled = min(self.width, self.width * epoch // epochs)
        parts = [f"\r[{'#' * filled}{'.' * (self.width - filled)}] epoch {epoch}/{epochs}"]
        # The trainer logs the summed objective as "total"; fall back to "loss" for other callers.
        parts_val, parts_train = record.get("val") or {}, record.get("train") or {}
        loss = next((d[k] for d in (parts_val, parts_train) for k in ("total", "loss") if k in d), None)
        if isinstance(loss, int | float):
            parts.append(f"loss {loss:.4f}")
        if isinstance(record.get("val_corr"), int | float):
            parts.append(f"val_corr {record['val_corr']:.3f}")
        if isinstance(record.get("seconds"), int | float):
            parts.append(f"{record['seconds']:.2f} s/epoch")
        self.stream.write("  ".join(parts) + " ")
        self.stream.flush()
        self.drawn = True
        return None

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _load_model(run: str) -> CorrelationModel:
    from mmcorr.estimator import CorrelationModel  # torch loads here only

    path = require_run(run)
    try:
        return CorrelationModel.load(path)
    except MmcorrError:
        raise
    except Exception as exc:  # a damaged weights file: say which run, not a torch traceback
        first = (str(exc).strip().splitlines() or [""])[0]  # torch's messages run over many lines
        raise MmcorrError(
            f"The model in the run folder {str(path)!r} cannot be read ({type(exc).__name__}: {first}). "
            "The run may be damaged; train it again."
        ) from None


def _summary_lines(summary: dict[str, Any]) -> str:
    return "\n".join(
        f"  {k:<24} {v:.4f}" if isinstance(v, float) else f"  {k:<24} {v}"
        for k, v in summary.items()
        if v is not None
    )


def _cmd_train(args: argparse.Namespace) -> int:
    from mmcorr.pipeline import run_spec, train_and_bundle

    if args.dataset is None and not args.modality:
        raise MmcorrError("Give the data to train on: --modality NAME=PATH (twice or more) or --dataset ID.")
    if args.dataset is not None and args.modality:
        raise MmcorrError("Give either --modality files or --dataset ID, not both.")
    out = Path(args.out)
    hidden = tuple(args.hidden) if args.hidden else ModelConfig().hidden
    model_cfg = ModelConfig(model=args.model, latent_dim=args.latent_dim, hidden=hidden)
    train_cfg = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=resolve_lr(args.model, args.lr),
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        patience=args.patience,
    )
    analysis_cfg = AnalysisConfig(permutations=args.permutations, seed=args.seed)
    progress = Progress()
    try:
        if args.dataset is not None:
            spec = JobSpec(
                dataset_id=args.dataset,
                model=model_cfg,
                train=train_cfg,
                data=DataConfig(),
                analysis=analysis_cfg,
                name=args.name or out.name,
            )
            run_spec(spec, out, callbacks=[progress])
        else:
            from mmcorr.data import load_paired

            files = _files(args.modality)
            label_path, label_col = _labels(args.labels)
            paths: dict[str, str | os.PathLike[str]] = dict(files)
            ds, report = load_paired(
                paths, id_column=args.id_column, how=args.how, labels=label_path, label_column=label_col
            )
            for warning in report.warnings:
                print(f"mmcorr: warning: {warning}", file=sys.stderr)
            spec = JobSpec(
                dataset_id="files",
                model=model_cfg,
                train=train_cfg,
                data=DataConfig(),
                analysis=analysis_cfg,
                name=args.name or out.name,
            )
            train_and_bundle(ds, spec, out, callbacks=[progress], sources=files)
    finally:
        progress.close()
    from mmcorr.jobs.bundle import read_metrics

    metrics = read_metrics(out)
    print(f"Wrote run bundle {out}")
    print(_summary_lines(metrics.get(MetricsKey.SUMMARY.value) or {}))
    return 0


def _with_model_modalities(model: CorrelationModel, ds: PairedDataset) -> PairedDataset:
    """``ds`` re-laid in the model's modality order; modalities not given are absent (mask False)."""
    from mmcorr.data import PairedDataset

    names: list[str] = list(model.names_)
    dims: dict[str, int] = dict(model.dims_)
    unknown = [n for n in ds.names if n not in names]
    if unknown:
        raise MmcorrError(f"The run was trained on modalities {names}; it has no {unknown}.")
    for n in ds.names:
        if ds.dims[n] != dims[n]:
            raise MmcorrError(
                f"The modality {n!r} has {ds.dims[n]} features here but the run was trained on {dims[n]}."
            )
    n_rows = ds.n_samples
    mask = np.zeros((n_rows, len(names)), dtype=bool)
    values: dict[str, np.ndarray] = {}
    features: dict[str, list[str]] = {}
    for j, name in enumerate(names):
        if name in ds.names:
            values[name] = ds.values[name]
            features[name] = list(ds.features[name])
            mask[:, j] = ds.mask[:, ds.names.index(name)]
        else:
            values[name] = np.zeros((n_rows, dims[name]), dtype=np.float32)
            features[name] = list(model.features_[name])
    return PairedDataset(
        names=names,
        values=values,
        features=features,
        ids=ds.ids,
        mask=mask,
        metadata=ds.metadata,
        label_column=ds.label_column,
        info=dict(ds.info),
    )


def _single(mod: Modality) -> PairedDataset:
    from mmcorr.data import PairedDataset

    return PairedDataset(
        names=[mod.name],
        values={mod.name: mod.values},
        features={mod.name: list(mod.features)},
        ids=mod.ids,
        mask=np.ones((mod.n_samples, 1), dtype=bool),
    )


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _cmd_encode(args: argparse.Namespace) -> int:
    from mmcorr.data import load_modality, pair_modalities

    files = _files(args.modality)
    model = _load_model(args.run)
    mods = [load_modality(path, name, id_column=args.id_column) for name, path in files.items()]
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise MmcorrError(f"The --out path {str(out)!r} exists and is not a folder.")
    for mod in mods:
        z = model.transform(_with_model_modalities(model, _single(mod)))[mod.name]
        atomic_write_bytes(out / f"{mod.name}.npy", _npy_bytes(np.asarray(z, dtype=np.float32)))
        print(f"Wrote {out / (mod.name + '.npy')}  ({z.shape[0]} x {z.shape[1]})")
    if len(mods) == 1:
        joint_ds = _single(mods[0])
    else:
        by: Literal["id", "order"] = (
            "id" if all(getattr(m, "id_column", None) is not None for m in mods) else "order"
        )
        joint_ds, _ = pair_modalities(mods, how="outer", by=by)
    joint = model.transform(_with_model_modalities(model, joint_ds))[JOINT]
    atomic_write_bytes(out / f"{JOINT}.npy", _npy_bytes(np.asarray(joint, dtype=np.float32)))
    atomic_write_text(out / f"{JOINT}_ids.txt", "\n".join(map(str, joint_ds.ids)) + "\n")
    print(
        f"Wrote {out / (JOINT + '.npy')}  ({joint.shape[0]} x {joint.shape[1]}; row ids in {JOINT}_ids.txt)"
    )
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from mmcorr.data import load_paired
    from mmcorr.pipeline import evaluate_run

    files = _files(args.modality)
    label_path, label_col = _labels(args.labels)
    paths: dict[str, str | os.PathLike[str]] = dict(files)
    ds, _ = load_paired(
        paths, id_column=args.id_column, how=args.how, labels=label_path, label_column=label_col
    )
    model = _load_model(args.run)
    result = evaluate_run(
        Path(args.run),
        model,
        _with_model_modalities(model, ds),
        modalities=list(ds.names),
        permutations=args.permutations,
    )
    out = Path(args.out) if args.out else Path(args.run) / "evaluation.json"
    atomic_write_text(out, json.dumps(json_safe(result), indent=2, allow_nan=False))
    print(f"Evaluated {ds.n_samples} samples; metrics written to {out}")
    print(_summary_lines(result.get(MetricsKey.SUMMARY.value) or {}))
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from mmcorr.data import load_modality

    source, path = args.source
    check_identifier("modality", source)
    out = Path(args.out)
    if out.suffix.lower() not in _PREDICT_FORMATS:
        raise MmcorrError(
            f"The --out file must end in one of {', '.join(_PREDICT_FORMATS)}. Got {out.name!r} instead."
        )
    model = _load_model(args.run)
    if args.target not in model.names_:
        raise MmcorrError(
            f"The --to modality must be one of {list(model.names_)}. Got {args.target!r} instead."
        )
    if args.target == source:
        raise MmcorrError(f"The --from and --to modalities must differ. Got {source!r} for both.")
    mod = load_modality(path, source, id_column=args.id_column)
    ds = _with_model_modalities(model, _single(mod))
    pred = np.asarray(model.predict(ds, source=source, target=args.target), dtype=np.float32)
    ext = out.suffix.lower()
    if ext == ".npy":
        atomic_write_bytes(out, _npy_bytes(pred))
    else:
        frame = pd.DataFrame(pred, columns=ds.features[args.target])
        frame.insert(0, "id", mod.ids.astype(str))
        if ext == ".parquet":
            buf = io.BytesIO()
            frame.to_parquet(buf, index=False)
            atomic_write_bytes(out, buf.getvalue())
        else:
            atomic_write_text(out, frame.to_csv(index=False, sep="\t" if ext == ".tsv" else ","))
    print(f"Wrote {out}  ({pred.shape[0]} x {pred.shape[1]} predicted {args.target!r} from {source!r})")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from mmcorr.report import write_report

    run = require_run(args.run)
    path = write_report(run, args.out)
    print(f"Wrote {path}")
    return 0


def _add_data_args(p: argparse.ArgumentParser, *, labels: bool = True) -> None:
    p.add_argument("--id-column", metavar="COL", help="sample-id column of every table (default: detected)")
    p.add_argument("--how", choices=("inner", "outer"), default="inner", help="pairing join (default inner)")
    if labels:
        p.add_argument("--labels", metavar="PATH:COL", help="table of sample labels and its label column")


def register(subparsers: Any) -> None:
    """Add train, encode, evaluate, predict and report to the ``mmcorr`` parser."""
    p = subparsers.add_parser("train", help="train a model on paired files or a registered dataset")
    p.add_argument(
        "--modality",
        metavar="NAME=PATH",
        type=parse_assignment,
        action="append",
        default=[],
        help="one modality's table (csv, tsv, parquet, npy, npz, h5mu); repeat for each modality",
    )
    p.add_argument("--dataset", metavar="ID", help="a registered dataset id instead of files")
    _add_data_args(p)
    p.add_argument("--model", choices=MODEL_NAMES, default="dccae")
    p.add_argument("--latent-dim", metavar="K", type=int, default=10)
    p.add_argument("--hidden", metavar="H", type=int, nargs="+", help="hidden layer sizes (default 256 256)")
    p.add_argument("--epochs", metavar="N", type=int, default=100)
    p.add_argument("--batch-size", metavar="B", type=int, default=256)
    p.add_argument(
        "--lr", metavar="LR", type=float, help="AdamW learning rate (default: 5e-3 for dccae, 1e-3 otherwise)"
    )
    p.add_argument("--patience", metavar="P", type=int, default=10, help="early-stopping patience (0: off)")
    p.add_argument("--seed", metavar="S", type=int, default=0)
    p.add_argument("--device", choices=("auto", "cpu", "cuda", "mps"), default="auto")
    p.add_argument("--threads", metavar="T", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--permutations", metavar="R", type=int, default=100, help="permutation-null rounds")
    p.add_argument("--name", help="run name shown in the dashboard (default: the --out folder name)")
    p.add_argument("--out", metavar="RUN_DIR", required=True, help="the run folder to create")
    p.set_defaults(func=_cmd_train)

    p = subparsers.add_parser("encode", help="project new samples into a trained run's latent space")
    p.add_argument("--run", metavar="RUN_DIR", required=True)
    p.add_argument("--modality", metavar="NAME=PATH", type=parse_assignment, action="append", required=True)
    p.add_argument("--id-column", metavar="COL", help="sample-id column of every table (default: detected)")
    p.add_argument("--out", metavar="OUT_DIR", required=True, help="folder for NAME.npy and joint.npy")
    p.set_defaults(func=_cmd_encode)

    p = subparsers.add_parser("evaluate", help="held-out metrics of a trained run on new paired data")
    p.add_argument("--run", metavar="RUN_DIR", required=True)
    p.add_argument("--modality", metavar="NAME=PATH", type=parse_assignment, action="append", required=True)
    _add_data_args(p)
    p.add_argument("--permutations", metavar="R", type=int, default=100)
    p.add_argument("--out", metavar="FILE", help="metrics JSON (default: RUN_DIR/evaluation.json)")
    p.set_defaults(func=_cmd_evaluate)

    p = subparsers.add_parser("predict", help="predict one modality from another with a trained run")
    p.add_argument("--run", metavar="RUN_DIR", required=True)
    p.add_argument("--from", dest="source", metavar="NAME=PATH", type=parse_assignment, required=True)
    p.add_argument("--to", dest="target", metavar="NAME", required=True)
    p.add_argument("--id-column", metavar="COL", help="sample-id column of the table (default: detected)")
    p.add_argument("--out", metavar="FILE", required=True, help="output .npy, .csv, .tsv or .parquet")
    p.set_defaults(func=_cmd_predict)

    p = subparsers.add_parser("report", help="write a run's self-contained HTML report")
    p.add_argument("--run", metavar="RUN_DIR", required=True)
    p.add_argument("--out", metavar="FILE", help="output HTML (default: RUN_DIR/report.html)")
    p.set_defaults(func=_cmd_report)
