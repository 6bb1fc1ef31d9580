"""Explore and Compare pages, drawn from fixture run bundles (no training involved)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from dashboard_helpers import heatmap_z, no_exceptions, page, plotly_charts, trace_types, write_run

from mmcorr.runs import SummaryMetric

EXPLORE = "pages/explore.py"
COMPARE = "pages/compare.py"


def test_explore_empty_state_says_what_to_do(app: Any) -> None:
    page(app, EXPLORE)
    no_exceptions(app)
    assert any("No finished runs yet" in i.value for i in app.info)


def test_explore_draws_every_chart_from_a_run_bundle(app: Any, mmcorr_home: Path) -> None:
    write_run(mmcorr_home, "run-a", name="dccae on demo")
    page(app, EXPLORE)
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    labels = {m.label: m.value for m in app.metric}
    # every label says what it covers: the pair, or the one retrieval / prediction direction
    assert labels["CC1 held-out (a × b)"] == "0.900"
    assert labels[r"Recall@1 (a-\>b)"] == "0.500"
    assert labels[r"Recall@10 (a-\>b)"] == "0.900"
    assert labels[r"Prediction R² (a-\>b)"] == "0.420"
    assert any("a × b" in c.value for c in app.caption)
    charts = plotly_charts(app)
    # similarity heatmap, feature heatmap, canonical bars, UMAP, training curves
    assert len(charts) == 5
    kinds = [trace_types(c) for c in charts]
    assert [k for k in kinds if "heatmap" in k] == [["heatmap"], ["heatmap"]]
    assert any("scattergl" in k for k in kinds)
    assert app.query_params["run"] == ["run-a"] or app.query_params["run"] == "run-a"
    # the top feature pairs table and the downloads are there
    assert any(len(df.value) == 20 for df in app.dataframe)
    assert {b.label for b in app.get("download_button")} >= {
        "Top pairs (CSV)",
        "Latents (CSV)",
        "Latents (Parquet)",
        "Metrics (JSON)",
        "Report (HTML)",
        "Run bundle (zip)",
    }


def test_explore_mask_toggle_blanks_nonsignificant_pairs(app: Any, mmcorr_home: Path) -> None:
    write_run(mmcorr_home, "run-a")
    page(app, EXPLORE)
    before = heatmap_z(plotly_charts(app)[1])
    app.toggle(key="mask_nonsig").set_value(True).run()
    no_exceptions(app)
    after = heatmap_z(plotly_charts(app)[1])
    assert before.shape == after.shape == (5, 4)
    assert np.isfinite(before).all()
    # the fixture marks pairs with q < 0.3 significant: some, not all, are blanked
    assert 0 < np.isnan(after).sum() < after.size


def test_explore_opens_the_run_named_in_the_url(app: Any, mmcorr_home: Path) -> None:
    write_run(mmcorr_home, "run-old", seed=1, name="old one")
    write_run(mmcorr_home, "run-new", seed=2, name="new one")
    app.query_params["run"] = "run-old"
    page(app, EXPLORE)
    no_exceptions(app)
    assert app.selectbox[0].value == "run-old"


def test_compare_lists_two_runs_and_marks_the_best(app: Any, mmcorr_home: Path) -> None:
    write_run(mmcorr_home, "run-cca", model="cca", recall1=0.3, seed=1)
    write_run(mmcorr_home, "run-dccae", model="dccae", recall1=0.7, seed=2)
    write_run(mmcorr_home, "run-other", dataset_id="ds-other", seed=3)
    page(app, COMPARE)
    no_exceptions(app)
    table = app.dataframe[0].value
    assert sorted(table["run"]) == ["run-cca", "run-dccae"]
    recall = SummaryMetric.RECALL_1.label  # "Recall@1 (mean of directions)"
    assert table.loc[table[recall].idxmax(), "run"] == "run-dccae"
    assert len(plotly_charts(app)) == 2


def test_compare_empty_state(app: Any) -> None:
    page(app, COMPARE)
    no_exceptions(app)
    assert any("No finished runs yet" in i.value for i in app.info)


def test_umap_can_be_coloured_by_a_raw_feature_of_the_dataset(app: Any, mmcorr_home: Path) -> None:
    from mmcorr.data import DatasetRegistry, PairedDataset

    n = 60  # more distinct values than viz.MAX_CATEGORIES: a continuous colour scale
    ids = np.array([f"s{i:05d}" for i in range(n)], dtype=object)
    ramp = np.arange(n, dtype=np.float32)
    ds = PairedDataset(
        names=["a", "b"],
        values={"a": np.column_stack([ramp, -ramp]), "b": np.column_stack([ramp * 2, ramp + 1, ramp])},
        features={"a": ["ga0", "ga1"], "b": ["pb0", "pb1", "pb2"]},
        ids=ids,
        mask=np.ones((n, 2), dtype=bool),
    )
    dataset_id = DatasetRegistry().save(ds, "ramp")
    write_run(mmcorr_home, "run-a", dataset_id=dataset_id, n=n)
    page(app, EXPLORE)
    app.radio(key="umap_colour_source").set_value("feature").run()
    app.selectbox(key="umap_feature_modality").set_value("b").run()
    app.selectbox(key="umap_feature").set_value("pb1").run()
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    umap = json.loads(plotly_charts(app)[3].proto.spec)
    assert umap["data"][0]["type"] == "scattergl"
    assert umap["data"][0]["marker"]["colorbar"]["title"]["text"] == "b:pb1"


def test_training_tab_draws_the_loss_parts_the_trainer_writes(app: Any, mmcorr_home: Path) -> None:
    write_run(mmcorr_home, "run-a")  # history through the real schema: total / corr / recon parts
    page(app, EXPLORE)
    no_exceptions(app)
    spec = json.loads(plotly_charts(app)[4].proto.spec)
    names = {t.get("name") for t in spec["data"]}
    assert {"train_total", "train_corr", "train_recon", "val_total", "val_corr"} <= names
    history = [df.value for df in app.dataframe if "epoch" in df.value.columns]
    assert len(history) == 1 and list(history[0]["epoch"]) == [1, 2, 3]
    assert "train_loss" not in history[0].columns


def test_training_tab_shows_auto_s_choice_and_its_candidates(app: Any, mmcorr_home: Path) -> None:
    import dataclasses

    from mmcorr.config._models import describe_choice
    from mmcorr.runs import read_metrics, write_metrics

    run_dir = write_run(mmcorr_home, "run-auto")
    table = [
        {"model": "cca", "val_corr_sum": 1.5, "seconds": 0.1, "chosen": False},
        {"model": "dccae", "val_corr_sum": 2.5, "seconds": 3.0, "chosen": True},
        {"model": "ae", "val_corr_sum": None, "seconds": 0.0, "chosen": False, "note": "not tried: budget"},
    ]
    metrics = read_metrics(run_dir)  # the note the fit writes, kept among the run's notes
    run = dataclasses.replace(metrics.run, notes={"model": describe_choice(table)})
    write_metrics(run_dir, dataclasses.replace(metrics, run=run))
    page(app, EXPLORE)
    no_exceptions(app)
    assert any(m.value.startswith("**auto chose dccae**") for m in app.markdown)
    choice = next(df.value for df in app.dataframe if "family" in df.value.columns)
    assert list(choice["family"]) == ["cca", "dccae", "ae"] and list(choice["chosen"]) == [False, True, False]


def test_training_tab_of_a_family_asked_for_by_name_has_no_choice(app: Any, mmcorr_home: Path) -> None:
    write_run(mmcorr_home, "run-named")
    page(app, EXPLORE)
    no_exceptions(app)
    assert not any(m.value.startswith("**auto chose") for m in app.markdown)
