"""``mmcorr data ...``: inspect files (the pairing report), write demos, register and list datasets.

FILE arguments are paths, or ``NAME=PATH`` to name the modality (default: the file stem; a folder's
or a .zip's own name for raw media; the column for ``TABLE:COLUMN``, a text column of a table).
"""

from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path
from typing import Any

from mmcorr._validation import MmcorrError
from mmcorr.data import DEMO_NAMES

__all__ = ["register", "files_from_args", "labels_from_arg"]


def files_from_args(items: list[str]) -> dict[str, str]:
    """``["rna=a.csv", "b.parquet", "imgs.zip", "c.csv:caption"]`` -> ``{"rna": "a.csv", "b":
    "b.parquet", "imgs": "imgs.zip", "caption": "c.csv:caption"}`` (names must differ).

    Without ``NAME=``: a table is named by its stem, a media folder by its name, a .zip by its name
    without .zip, and ``TABLE:COLUMN`` (a text column; the loaders read it) by the column.
    """
    from mmcorr.data.loaders import file_extension, sanitize_name, split_column_ref

    files: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or os.path.exists(item):
            path = item
            _, column = split_column_ref(Path(item))
            base = Path(item).name
            if column is not None:
                name = sanitize_name(column)
            elif Path(item).is_dir() or base.lower().endswith(".zip"):
                name = sanitize_name(base[: -len(".zip")] if base.lower().endswith(".zip") else base)
            else:
                name = sanitize_name(base[: len(base) - len(file_extension(item))])
        if name in files:
            raise MmcorrError(f"Two files give the modality name {name!r}; name them apart with NAME=PATH.")
        files[name] = path
    return files


def labels_from_arg(text: str | None) -> tuple[str | None, str | None]:
    """``PATH[:COL]`` -> (path, column); a colon inside an existing path is part of the path."""
    if text is None:
        return None, None
    if os.path.exists(text) or ":" not in text:
        return text, None
    path, _, column = text.rpartition(":")
    return path, column or None


def _add_loading_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="+", metavar="FILE", help="one file per modality (or NAME=PATH)")
    p.add_argument("--id-column", default=None, help="the sample-id column (default: auto-detect)")
    p.add_argument("--how", default="inner", choices=("inner", "outer"), help="join (default inner)")
    p.add_argument("--nan", default="error", choices=("error", "impute"), help="NaN / inf handling")
    p.add_argument("--labels", default=None, metavar="PATH[:COL]", help="label table keyed by sample id")


def register(sub: Any) -> None:
    data = sub.add_parser("data", help="inspect, register and list datasets; write demo data")
    dsub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    p = dsub.add_parser("inspect", help="load and pair files; print the pairing report")
    _add_loading_args(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=_inspect)

    p = dsub.add_parser("save", help="load, pair and register files as a dataset; prints its id")
    _add_loading_args(p)
    p.add_argument("--name", required=True, help="display name of the dataset")
    p.set_defaults(func=_save)

    p = dsub.add_parser(
        "demo",
        help="write a demo dataset's files (CSV tables; digits-media: images.zip, captions.csv, clips.zip)",
    )
    p.add_argument("name", choices=DEMO_NAMES, help="which demo dataset")
    p.add_argument("--out", default=None, help="folder for the files")
    p.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    p.add_argument("--n-samples", type=int, default=None, help="number of samples (default: the demo's own)")
    p.add_argument("--register", action="store_true", help="also register it; prints the dataset id")
    p.set_defaults(func=_demo)

    p = dsub.add_parser("list", help="registered datasets, newest first")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=_list)

    p = dsub.add_parser("delete", help="remove a registered dataset")
    p.add_argument("dataset_id", help="the dataset's id (see 'mmcorr data list')")
    p.set_defaults(func=_delete)


def _load(args: argparse.Namespace) -> Any:
    from mmcorr.data import load_paired

    labels, column = labels_from_arg(args.labels)
    return load_paired(
        files_from_args(args.files),
        id_column=args.id_column,
        how=args.how,
        nan=args.nan,
        labels=labels,
        label_column=column,
    )


def _inspect(args: argparse.Namespace) -> int:
    _, report = _load(args)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format())
    return 0


def _save(args: argparse.Namespace) -> int:
    from mmcorr.data import DatasetRegistry

    ds, report = _load(args)
    print(report.format())
    dataset_id = DatasetRegistry().save(ds, args.name, report)
    print(dataset_id)
    return 0


def _write_demo_tables(ds: Any, out: Path) -> None:
    """One ``NAME.csv`` per modality (ids in ``sample_id``) and ``labels.csv``; prints each path."""
    import pandas as pd

    from mmcorr._io import atomic_write_text
    from mmcorr.data import dense_rows

    for name in ds.names:
        frame = pd.DataFrame(dense_rows(ds.values[name]), columns=ds.features[name])
        frame.insert(0, "sample_id", ds.ids)
        buf = io.StringIO()
        frame.to_csv(buf, index=False, float_format="%.6g")
        atomic_write_text(out / f"{name}.csv", buf.getvalue())
        print(out / f"{name}.csv")
    if ds.metadata is not None:
        atomic_write_text(out / "labels.csv", ds.metadata.rename_axis("sample_id").to_csv())
        print(out / "labels.csv")


def _write_digits_media(out: Path, seed: int, n_samples: int | None) -> None:
    """The raw files (images.zip, captions.csv, clips.zip, labels.csv), their paths on stdout, and
    on stderr the command that trains on them (stdout stays one path a line for scripts)."""
    import shlex
    import sys

    from mmcorr.data.demos_media import write_digits_media

    paths = write_digits_media(out, seed=seed, n=n_samples)
    for path in paths.values():
        print(path)
    command = ["mmcorr", "train"]
    for name, ref in (
        ("image", paths["image"]),
        ("text", f"{paths['text']}:caption"),
        ("audio", paths["audio"]),
    ):
        command += ["--modality", f"{name}={ref}"]
    command += ["--labels", f"{paths['labels']}:digit", "--model", "dccae", "--out", "RUN"]
    sys.stdout.flush()  # the paths first, then the hint, also where both streams share a file
    print(f"Next, train on them (RUN: a new folder for the run):\n  {shlex.join(command)}", file=sys.stderr)


def _demo(args: argparse.Namespace) -> int:
    from mmcorr.data import DatasetRegistry, make_demo
    from mmcorr.data.demos_media import DIGITS_MEDIA

    if args.out is None and not args.register:
        raise MmcorrError(
            "Give --out DIR to write the demo's files, or --register to add the demo to the registry."
        )
    ds = None
    if args.out is not None:
        if args.name == DIGITS_MEDIA:
            _write_digits_media(Path(args.out), args.seed, args.n_samples)
        else:
            ds = make_demo(args.name, seed=args.seed, n_samples=args.n_samples)
            _write_demo_tables(ds, Path(args.out))
    if args.register:
        reg = DatasetRegistry()
        if args.n_samples is None:
            print(reg.ensure_demo(args.name, seed=args.seed))
        else:
            print(reg.save(ds or make_demo(args.name, seed=args.seed, n_samples=args.n_samples), args.name))
    return 0


def _list(args: argparse.Namespace) -> int:
    from mmcorr.data import DatasetRegistry

    infos = DatasetRegistry().list()
    if args.json:
        print(json.dumps([d.to_dict() for d in infos], indent=2))
        return 0
    if not infos:
        print("No datasets registered yet: try 'mmcorr data demo synthetic --register'.")
        return 0
    for d in infos:
        mods = ", ".join(f"{k} ({v})" for k, v in d.modalities.items())
        print(f"{d.id}\t{d.name}\t{d.n_samples} samples\t{mods}\t{d.created[:19]}")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from mmcorr.data import DatasetRegistry

    DatasetRegistry().delete(args.dataset_id)
    print(f"deleted {args.dataset_id}")
    return 0
