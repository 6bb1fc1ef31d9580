"""Wide tables: a header line far over Arrow's 64 KiB first block (any gene-expression table) loads.

Before the fix a CSV with 5,000+ columns was refused with "the file is empty".
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from mmcorr.data import load_modality
from mmcorr.data._csv import _HEADER_BLOCK

N_COLUMNS = 50_000


def _write(path: Path, n_rows: int, sep: str = ",", n_columns: int = N_COLUMNS) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(n_rows, n_columns)), 3).astype(np.float32)
    header = sep.join(["cell", *(f"gene_{j}" for j in range(n_columns))])
    rows = [sep.join([f"c{i}", *map(str, x[i])]) for i in range(n_rows)]
    text = "\n".join([header, *rows]) + "\n"
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    assert len(header) > _HEADER_BLOCK
    return x


@pytest.mark.parametrize(
    ("name", "n_columns"), [("wide.csv", N_COLUMNS), ("wide.tsv", 10_000), ("wide.csv.gz", 10_000)]
)
def test_a_table_with_thousands_of_columns_loads(tmp_path: Path, name: str, n_columns: int) -> None:
    x = _write(tmp_path / name, 4, sep="\t" if ".tsv" in name else ",", n_columns=n_columns)
    mod = load_modality(tmp_path / name, "rna")
    assert mod.values.shape == (4, n_columns)
    assert mod.features[0] == "gene_0" and mod.features[-1] == f"gene_{n_columns - 1}"
    assert list(mod.ids) == ["c0", "c1", "c2", "c3"]
    np.testing.assert_allclose(mod.values, x, atol=1e-6)


def test_a_wide_table_with_a_text_cell_names_the_cell(tmp_path: Path) -> None:
    # 10,000 columns: the header is still past the old 64 KiB block; the slow typed parse that
    # names a bad cell costs ~0.3 ms per column.
    _write(tmp_path / "wide.csv", 3, n_columns=10_000)
    lines = (tmp_path / "wide.csv").read_text().splitlines()
    cells = lines[2].split(",")
    cells[7] = "oops"
    lines[2] = ",".join(cells)
    (tmp_path / "wide.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(Exception, match=r"wide\.csv.*gene_6.*row 2"):
        load_modality(tmp_path / "wide.csv", "rna")


def test_an_empty_file_is_still_called_empty(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(Exception, match=r"empty\.csv: the file is empty"):
        load_modality(tmp_path / "empty.csv", "rna")
