from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmcorr._validation import MmcorrError
from mmcorr.runs.report import build_report, write_report


def test_report_is_self_contained_and_has_the_plots(fake_run: Path) -> None:
    path = write_report(fake_run)
    assert path == fake_run / "report.html"
    text = path.read_text(encoding="utf-8")
    # no script fetched from the network: plotly.js is inline, exactly once
    assert not re.search(r"<script[^>]+src=[\"']https?:", text)
    assert text.count("Plotly.newPlot") >= 5
    assert text.count("plotly.js v") == 1  # the library is embedded once, not per figure
    for needle in (
        "Headline metrics",
        "Canonical correlations",
        "null 95% band",
        "Cross-modal similarity",
        "Feature-by-feature",
        "UMAP",
        "Training",
        "scattergl",
        "heatmap",
    ):
        assert needle in text, needle


def test_report_to_other_path(fake_run: Path, tmp_path: Path) -> None:
    out = write_report(fake_run, tmp_path / "sub" / "r.html")
    assert out.is_file() and not (fake_run / "report.html").exists()


def test_report_escapes_names(fake_run: Path) -> None:
    import json

    m = json.loads((fake_run / "metrics.json").read_text())
    m["run"]["name"] = "<script>alert(1)</script>"
    (fake_run / "metrics.json").write_text(json.dumps(m))
    assert "<script>alert(1)</script>" not in build_report(fake_run)


def test_report_of_non_run(tmp_path: Path) -> None:
    with pytest.raises(MmcorrError, match=r"no metrics\.json"):
        build_report(tmp_path)


def test_report_subsamples_large_umaps_by_sample(fake_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    import mmcorr.runs.report as R

    seen: list[pd.DataFrame] = []
    real = R.viz.umap_scatter

    def spy(df: pd.DataFrame, *args: object, **kw: object) -> object:
        seen.append(df)
        return real(df, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(R, "REPORT_MAX_UMAP_POINTS", 20)
    monkeypatch.setattr(R.viz, "umap_scatter", spy)
    build_report(fake_run)  # 60 points (30 samples x 2 modalities) -> 10 whole samples
    df = seen[0]
    assert len(df) == 20
    assert (df.groupby("id")["modality"].nunique() == 2).all()  # no sample loses its partner point
