"""Property: any CSV text either loads into a valid Modality or raises the project's own error."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmcorr import MmcorrError
from mmcorr.data import Modality, load_modality

CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**40), 10**40).map(str),
    st.sampled_from(["", "NA", "nan", "inf", "-inf", "x", '"1,5"', "1e400", " 3 ", "id", "s1", '"', "1.2.3"]),
    st.text(max_size=4),
)
CSV_TEXT = st.lists(st.lists(CELLS, min_size=1, max_size=5), min_size=0, max_size=8).map(
    lambda rows: "\n".join(",".join(r) for r in rows)
)
_DIR = Path(tempfile.mkdtemp(prefix="mmcorr-hyp-"))


def _check(path: Path) -> None:
    try:
        m = load_modality(path, nan="impute")
    except MmcorrError:
        return
    assert isinstance(m, Modality)
    assert m.values.dtype == np.float32 and m.values.ndim == 2 and m.values.shape[0] >= 1
    assert np.isfinite(m.values).all()
    assert len(m.ids) == m.n_samples and len(set(m.ids.tolist())) == m.n_samples
    assert len(m.features) == m.n_features == len(set(m.features))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(CSV_TEXT, st.text(max_size=200)))
def test_any_csv_text_loads_or_raises_mmcorr_error(text: str) -> None:
    path = _DIR / "h.csv"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    _check(path)


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=200))
def test_any_bytes_load_or_raise_mmcorr_error(data: bytes) -> None:
    path = _DIR / "b.csv"
    path.write_bytes(data)
    _check(path)
