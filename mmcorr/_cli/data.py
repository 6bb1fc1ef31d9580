"""``mmcorr data ...``: inspect files (the pairing report), write demos, register and list datasets.

FILE arguments are paths, or ``NAME=PATH`` to name the modality (default: the file stem).
"""

from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path
from typing import Any

from mmcorr._validation import MmcorrError

__all__ = ["register", "files_from_args", "labels_from_arg"]


def files_from_args(items: list[str]) -> dict[str, str]:
    """``["rna=a.csv", "b.parquet"]`` -> ``{"rna": "a.csv", "b": "b.parquet"}`` (names must differ)."""
    from mmcorr.data.loaders import file_extension, sanitize_name

    files: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or os.path.exists(item):
            path = item
            base = Path(item).name
            # A media folder has no extension to drop; a .zip of media its .zip.
            ext = "" if Path(item).is_dir() else Path(item).suffix if base.lower().endswith(".zip") else None
            name = sanitize_name(base[: len(base) - len(file_extension(item) if ext is None else ext)])
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

    p = dsub.add_parser("demo", help="write a demo dataset's modalities as CSV files")
    p.add_argument("name", choices=("digits-noisy", "synthetic"), help="which demo dataset")
    p.add_argument("--out", default=None, help="folder for the CSV files")
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


def _demo(args: argparse.Namespace) -> int:
    import pandas as pd

    from mmcorr._io import atomic_write_text
    from mmcorr.data import DatasetRegistry, make_demo

    if args.out is None and not args.register:
        raise MmcorrError(
            "Give --out DIR to write the CSV files, or --register to add the demo to the registry."
        )
    ds = make_demo(args.name, seed=args.seed, n_samples=args.n_samples)
    if args.out is not None:
        out = Path(args.out)
        for name in ds.names:
            frame = pd.DataFrame(ds.values[name], columns=ds.features[name])
            frame.insert(0, "sample_id", ds.ids)
            buf = io.StringIO()
            frame.to_csv(buf, index=False, float_format="%.6g")
            atomic_write_text(out / f"{name}.csv", buf.getvalue())
            print(out / f"{name}.csv")
        if ds.metadata is not None:
            atomic_write_text(out / "labels.csv", ds.metadata.rename_axis("sample_id").to_csv())
            print(out / "labels.csv")
    if args.register:
        reg = DatasetRegistry()
        print(
            reg.ensure_demo(args.name, seed=args.seed) if args.n_samples is None else reg.save(ds, args.name)
        )
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
