"""The Data page: real uploads through AppTest's file uploader, the pairing report, save, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from dashboard_helpers import no_exceptions, page

DATA = "pages/data.py"


def _csv(name: str, n: int, d: int, seed: int, *, shuffle: bool = False) -> bytes:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(n, d))
    order = rng.permutation(n) if shuffle else np.arange(n)
    lines = ["sample_id," + ",".join(f"{name}{j}" for j in range(d))]
    lines += [f"s{i:03d}," + ",".join(f"{v:.4f}" for v in values[i]) for i in order]
    return ("\n".join(lines) + "\n").encode()


def _upload_two(app: Any, b_bytes: bytes | None = None) -> None:
    page(app, DATA)
    app.file_uploader[0].set_value(("rna.csv", _csv("g", 30, 4, 0), "text/csv"))
    app.file_uploader[1].set_value(("protein.csv", b_bytes or _csv("p", 30, 3, 1, shuffle=True), "text/csv"))
    app.run()


def test_upload_two_csvs_shows_the_report_and_saves_a_dataset(app: Any, mmcorr_home: Path) -> None:
    _upload_two(app)
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Paired samples"] == "30"
    # each modality is named after its file until the user types a name
    assert [t.value for t in app.text_input if t.key.startswith("modality_name")] == ["rna", "protein"]
    assert metrics["rna features"] == "4"
    assert metrics["protein features"] == "3"
    assert "rna.csv" in app.code[0].value  # the pairing report names the user's files
    app.text_input(key="dataset_name").input("cells")
    app.button(key="save_dataset").click().run()
    no_exceptions(app)
    assert any("Saved as dataset" in s.value for s in app.success)
    from mmcorr.data import DatasetRegistry

    saved = DatasetRegistry().list()
    assert [(d.name, d.n_samples, d.modalities) for d in saved] == [("cells", 30, {"rna": 4, "protein": 3})]
    # the id lives in the session, so the Train page preselects it
    assert app.session_state["mmcorr_dataset_id"] == saved[0].id


def test_a_bad_file_shows_the_library_message_not_a_traceback(app: Any) -> None:
    bad = b"sample_id,p0,p1\ns000,1.0,2.0\ns001,3.0,oops\n"
    _upload_two(app, bad)
    no_exceptions(app)
    errors = [e.value for e in app.error]
    assert len(errors) == 1
    assert "protein.csv" in errors[0] and "'oops'" in errors[0] and "not a number" in errors[0]
    assert not any(b.label == "Save dataset" for b in app.button)


def test_waits_for_every_file_before_pairing(app: Any) -> None:
    page(app, DATA)
    app.file_uploader[0].set_value(("rna.csv", _csv("g", 30, 4, 0), "text/csv")).run()
    no_exceptions(app)
    assert any("Upload 1 more file(s)" in i.value for i in app.info)


def test_a_typed_modality_name_is_kept_when_a_file_arrives(app: Any) -> None:
    page(app, DATA)
    app.text_input(key="modality_name_0").input("expression").run()
    app.file_uploader[0].set_value(("rna.csv", _csv("g", 30, 4, 0), "text/csv"))
    app.file_uploader[1].set_value(("protein.csv", _csv("p", 30, 3, 1), "text/csv"))
    app.run()
    no_exceptions(app)
    assert app.text_input(key="modality_name_0").value == "expression"
    assert app.text_input(key="modality_name_1").value == "protein"
    assert {m.label for m in app.metric} >= {"expression features", "protein features"}
