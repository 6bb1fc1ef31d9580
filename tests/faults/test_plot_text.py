"""Plotly figures show user strings literally (issue 14, item 8): plotly.js reads <b>, <a href>,
<br> and entities in titles, legends, tick labels and hover text, so mmcorr.viz escapes every name
and id it puts there, while the lasso selection still reads back the raw sample id."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from mmcorr.viz import feature_corr_heatmap, leaderboard_bars, similarity_heatmap, umap_scatter

HOSTILE = '<a href="http://example.invalid">x</a><img src=x>&amp;'
SHOWN = '&lt;a href="http://example.invalid"&gt;x&lt;/a&gt;&lt;img src=x&gt;&amp;amp;'


def _strings(fig: Any) -> list[str]:
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    spec = json.loads(fig.to_json())
    walk(spec["data"])
    walk(spec["layout"].get("title"))
    walk(spec["layout"].get("xaxis"))
    walk(spec["layout"].get("yaxis"))
    return out


def _no_raw_html(fig: Any) -> list[str]:
    strings = _strings(fig)
    assert not any("<a " in s or "<img" in s for s in strings), strings
    return strings


def test_similarity_heatmap_escapes_ids_and_names() -> None:
    fig = similarity_heatmap(np.eye(2), [HOSTILE, "s1"], ["s0", HOSTILE], name_a=HOSTILE, name_b="b")
    strings = _no_raw_html(fig)
    assert SHOWN in strings  # a tick label
    assert any(s.startswith(f"Cross-modal similarity {SHOWN}") for s in strings)


def test_feature_heatmap_escapes_feature_names() -> None:
    fig = feature_corr_heatmap(np.eye(2), features_a=[HOSTILE, "g"], features_b=["p", "q"], title=HOSTILE)
    strings = _no_raw_html(fig)
    assert SHOWN in strings


def test_umap_scatter_escapes_labels_and_hover_but_keeps_the_raw_id() -> None:
    frame = pd.DataFrame(
        {
            "id": [HOSTILE, "s1", HOSTILE, "s1"],
            "modality": ["a", "a", "b", "b"],
            "x": [0.0, 1.0, 2.0, 3.0],
            "y": [0.0, 1.0, 0.0, 1.0],
            HOSTILE: [HOSTILE, "ok", HOSTILE, "ok"],
        }
    )
    fig = umap_scatter(frame, color_by=HOSTILE)
    names = [t.name for t in fig.data]
    assert sorted(names) == sorted([SHOWN, "ok"])  # legend entries
    assert SHOWN in fig.layout.title.text and "<img" not in fig.layout.title.text
    for trace in fig.data:
        custom = np.asarray(trace.customdata)
        assert "%{customdata[2]}" in trace.hovertemplate and "%{customdata[0]}" not in trace.hovertemplate
        assert not any("<img" in s for s in custom[:, 2:].ravel())  # what the hover shows
    raw_ids = {str(row[0]) for t in fig.data for row in np.asarray(t.customdata)}
    assert raw_ids == {HOSTILE, "s1"}  # what a lasso selection exports


def test_leaderboard_escapes_run_names_and_metric() -> None:
    table = pd.DataFrame({"label": [HOSTILE, "plain"], HOSTILE: [0.5, 0.7]})
    fig = leaderboard_bars(table, HOSTILE, label="label")
    strings = _no_raw_html(fig)
    assert SHOWN in strings and f"Leaderboard: {SHOWN}" in strings
