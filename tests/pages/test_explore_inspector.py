"""Explore's sample inspector on a run with raw modalities (images, text, audio)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from dashboard_helpers import no_exceptions, page, write_run

from mmcorr.runs import find_run

EXPLORE = "pages/explore.py"
HOSTILE = " **bold** <b>x</b> [link](http://example.com)"
RANK = re.compile(r"^#(\d) · similarity -?\d\.\d{3}$")

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def media_bundle(tmp_path_factory: pytest.TempPathFactory, media_run_builder: Any) -> Path:
    """One tiny trained run on digits-media (cca, no UMAP), built once for the module."""
    run, _ = media_run_builder(tmp_path_factory.mktemp("bundles") / "media", HOSTILE, "cca on digits-media")
    return Path(run)


@pytest.fixture
def media_app(app: Any, mmcorr_home: Path, media_bundle: Path) -> Any:
    shutil.copytree(media_bundle, mmcorr_home / "runs" / "media-run")
    app.query_params["run"] = "media-run"
    page(app, EXPLORE)
    no_exceptions(app)
    return app


def _inspector(app: Any) -> Any:
    tabs = list(app.tabs)
    assert tabs[0].label == "Matches"
    return tabs[0]


def _direction_blocks(tab: Any) -> dict[str, list[str]]:
    """Direction heading -> the rank captions under it ("#1 · similarity 0.83"), in page order."""
    found: dict[str, list[str]] = {}
    current = None
    for el in _walk(tab):
        if el.type == "markdown" and " → " in el.value and el.value.startswith("**"):
            current = el.value
            found[current] = []
        elif el.type == "caption" and current is not None and RANK.match(el.value):
            found[current].append(el.value)
    return found


def _walk(node: Any) -> list[Any]:
    out = []
    for child in getattr(node, "children", {}).values():
        out.append(child)
        out.extend(_walk(child))
    return out


def test_the_inspector_shows_image_text_audio_and_five_matches_per_direction(
    media_app: Any,
) -> None:
    app = media_app
    tab = _inspector(app)
    picked = str(app.session_state["inspect_sample"])
    run = find_run("media-run")
    held = run.held_out()
    assert picked in set(held.ids)
    # the query, side by side: its image, its text (as plain text) and its clip
    assert len(tab.get("image")) >= 1 and len(tab.get("audio")) >= 1
    from pages._ui import plain  # on sys.path once the fixtures ran

    caption = run.preview("text", picked)
    assert isinstance(caption, str) and any(m.value == plain(caption) for m in tab.get("markdown"))
    # six directions, five ranked neighbours each, the true match marked where it is in the top 5
    blocks = _direction_blocks(tab)
    assert len(blocks) == 6
    assert all(len(ranks) == 5 for ranks in blocks.values()), blocks
    assert all([r[:2] for r in ranks] == ["#1", "#2", "#3", "#4", "#5"] for ranks in blocks.values())
    marks = [m for m in tab.get("markdown") if "✓ true match" in m.value]
    expected = sum(bool(held.neighbours(d, [picked]).correct.any()) for d in held.directions)
    assert len(marks) == expected
    # neighbour images (two directions end in image) and clips (two end in audio), plus the query's
    assert len(tab.get("image")) == 1 + 2 * 5 and len(tab.get("audio")) == 1 + 2 * 5


def test_picking_another_sample_redraws_the_inspector(media_app: Any) -> None:
    app = media_app
    other = str(find_run("media-run").held_out().ids[3])
    box = next(s for s in app.selectbox if s.label == "Held-out sample")
    assert box.options[3].startswith(f"{other} · digit ")  # the id and the run's label
    box.select(other).run()
    no_exceptions(app)
    assert app.session_state["inspect_sample"] == other
    assert len(_direction_blocks(_inspector(app))) == 6


def test_a_chart_click_picks_the_sample_and_a_training_sample_is_explained(media_app: Any) -> None:
    app = media_app
    held = find_run("media-run").held_out()
    # what the UMAP / heatmap click callbacks leave behind: a requested id
    app.session_state["inspect_request"] = str(held.ids[5])
    app.run()
    no_exceptions(app)
    assert app.session_state["inspect_sample"] == str(held.ids[5])
    app.session_state["inspect_request"] = "d0000-not-held-out"
    app.run()
    assert any("not a held-out sample with previews" in i.value for i in app.info)
    assert app.session_state["inspect_sample"] == str(held.ids[5])  # unchanged


def test_a_tables_only_run_has_no_inspector(app: Any, mmcorr_home: Path) -> None:
    write_run(mmcorr_home, "run-a")
    page(app, EXPLORE)
    no_exceptions(app)
    assert [t.label for t in app.tabs] == [
        "Correlation heatmaps",
        "Shared latent space",
        "Training",
        "Downloads",
    ]
    assert "inspect_sample" not in app.session_state


def test_the_heatmap_click_layer_and_the_umap_star() -> None:
    from mmcorr.viz import CLICK_MAX_CELLS, similarity_heatmap, umap_scatter

    ids = np.array(["<a>", "s1", "s2"], dtype=object)
    fig = similarity_heatmap(np.eye(3), ids, ids, clickable=True)
    heat, cells = fig.data
    assert heat.hoverinfo == "skip" and cells.type == "scattergl"
    # one marker per cell, on the heatmap's own (escaped) labels: a click reports the row's id
    assert list(cells.y) == ["&lt;a&gt;"] * 3 + ["s1"] * 3 + ["s2"] * 3 and list(cells.x[:3]) == list(heat.x)
    assert np.allclose(np.asarray(cells.customdata, dtype=float), np.eye(3).ravel())
    side = int(CLICK_MAX_CELLS**0.5) + 1
    big = similarity_heatmap(np.zeros((side, side)), clickable=True, max_rows=side)
    assert len(big.data) == 1  # too many cells to send a label per cell
    frame = pd.DataFrame({"id": ["a", "a", "b"], "modality": ["x", "y", "x"], "x": [0, 1, 2], "y": [0, 1, 2]})
    star = umap_scatter(frame, highlight=["a"]).data[-1]
    assert star.name == "selected sample" and len(star.x) == 2 and star.marker.symbol == "star"
