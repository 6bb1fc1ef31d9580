"""The Train page's own validation / test sets (advanced): a registered dataset with the training
dataset's modalities is offered and travels in the submitted JobSpec (val_dataset_id /
test_dataset_id); before, the page could only split its one dataset by fractions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dashboard_helpers import no_exceptions, page

TRAIN = "pages/train.py"


@pytest.fixture
def registered(mmcorr_home: Path) -> dict[str, str]:
    """train / val / test: disjoint rows of one demo (modalities a, b); other: modalities a, c."""
    from mmcorr.data import DatasetRegistry, make_demo

    reg = DatasetRegistry()
    ds = make_demo("synthetic", n_samples=240, seed=0).select(["a", "b"])
    ids = {
        name: reg.save(ds.subset(rows), name)
        for name, rows in (
            ("val", np.arange(160, 200)),
            ("test", np.arange(200, 240)),
            ("train", np.arange(160)),
        )
    }
    ids["other"] = reg.save(make_demo("synthetic", n_samples=60, seed=1).select(["a", "c"]), "other")
    return ids


def _submitted_spec(app: Any) -> Any:
    from mmcorr.jobs import get_job

    return get_job(app.session_state["mmcorr_job_id"]).spec


def test_given_validation_and_test_datasets_go_into_the_job(app: Any, registered: dict[str, str]) -> None:
    page(app, TRAIN)
    app.selectbox(key="dataset").set_value(registered["train"]).run()
    offered = app.selectbox(key="val_dataset_id").options
    # none, then the datasets like the training one: not itself, not one with other modalities
    assert len(offered) == 3 and offered[0] == "none: split the training dataset"
    assert sorted(app.selectbox(key="test_dataset_id").options[1:]) == sorted(offered[1:])
    assert sorted(o.split(" ·")[0] for o in offered[1:]) == ["test", "val"]
    app.selectbox(key="model").set_value("cca")
    app.selectbox(key="val_dataset_id").set_value(registered["val"])
    app.selectbox(key="test_dataset_id").set_value(registered["test"])
    app.button(key="train").click().run()
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    spec = _submitted_spec(app)
    assert (spec.dataset_id, spec.val_dataset_id, spec.test_dataset_id) == (
        registered["train"],
        registered["val"],
        registered["test"],
    )


def test_without_given_sets_the_job_splits_by_fractions(app: Any, registered: dict[str, str]) -> None:
    page(app, TRAIN)
    app.selectbox(key="dataset").set_value(registered["train"]).run()
    app.selectbox(key="model").set_value("cca")
    app.button(key="train").click().run()
    no_exceptions(app)
    spec = _submitted_spec(app)
    assert spec.dataset_id == registered["train"]
    assert spec.val_dataset_id is None and spec.test_dataset_id is None


def test_the_same_dataset_as_validation_and_test_shows_one_message(
    app: Any, registered: dict[str, str]
) -> None:
    page(app, TRAIN)
    app.selectbox(key="dataset").set_value(registered["train"]).run()
    app.selectbox(key="val_dataset_id").set_value(registered["val"])
    app.selectbox(key="test_dataset_id").set_value(registered["val"])
    app.button(key="train").click().run()
    no_exceptions(app)
    # shown as plain text (markdown escaped): the config's one-line message naming the field
    message = "The 'test\\_dataset\\_id' parameter must name a dataset other than the training"
    assert any(message in e.value for e in app.error)
    assert "mmcorr_job_id" not in app.session_state
