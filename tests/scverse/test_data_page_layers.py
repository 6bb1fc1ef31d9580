"""The Data page offers the layers of an uploaded AnnData / MuData file and its obs columns as labels."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scverse_data import cite  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.syspath_prepend(str(ROOT))  # pages import pages._ui, as under `streamlit run`
    monkeypatch.delenv("MMCORR_PASSWORD", raising=False)
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    yield AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def _h5mu_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cite.h5mu"
        cite().write(path)
        return path.read_bytes()


def test_h5mu_upload_offers_layers_and_obs_labels(app: Any) -> None:
    app.run()
    app.switch_page("pages/data.py")
    app.run()
    app.number_input[0].set_value(1).run()
    app.file_uploader[0].set_value(
        ("cite.h5mu", io.BytesIO(_h5mu_bytes()).getvalue(), "application/octet-stream")
    )
    app.run()
    assert not app.exception
    layer = app.selectbox(key="layer_cite_rna")
    assert layer.options == ["X", "counts"]
    labels = next(s for s in app.selectbox if s.label == "Label column")
    assert {"batch", "rna:celltype"} <= set(labels.options)
    layer.set_value("counts").run()
    labels = next(s for s in app.selectbox if s.label == "Label column")
    labels.set_value("rna:celltype").run()
    assert not app.exception and [e.value for e in app.error] == []
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Paired samples"] == "96"  # inner join: the cells both modalities observe
    # The preview shows the counts layer (integers), not the log-normalised X.
    preview = app.dataframe[0].value
    assert (preview.to_numpy() == preview.to_numpy().round()).all()
