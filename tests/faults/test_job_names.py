"""Job names have a length limit (issue 14, item 12), checked in one place (JobSpec) and reported
as one line on the command line and on the Train page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mmcorr import MmcorrError
from mmcorr.config import NAME_MAX, JobSpec, build_job_spec

ROOT = Path(__file__).resolve().parents[2]
TOO_LONG = "n" * (NAME_MAX + 1)


def test_a_name_at_the_limit_is_accepted() -> None:
    assert build_job_spec("ds-1", name="n" * NAME_MAX).name == "n" * NAME_MAX


def test_a_name_over_the_limit_is_refused() -> None:
    with pytest.raises(
        MmcorrError, match=r"'name' parameter \(the run name\) must be at most 200 characters\. Got 201"
    ):
        build_job_spec("ds-1", name=TOO_LONG)


def test_a_hand_edited_spec_with_a_long_name_is_refused() -> None:
    text = build_job_spec("ds-1", name="ok").to_json().replace('"name": "ok"', f'"name": "{TOO_LONG}"')
    with pytest.raises(MmcorrError, match=r"at most 200 characters\. Got 201 characters instead"):
        JobSpec.from_json(text)


def test_a_name_that_is_not_text_is_refused() -> None:
    with pytest.raises(MmcorrError, match=r"'name' parameter must be a string\. Got int instead"):
        JobSpec(dataset_id="ds-1", name=7)  # type: ignore[arg-type]


def test_cli_submit_says_it_in_one_line(mmcorr_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mmcorr.cli import main

    rc = main(["jobs", "submit", "--dataset", "ds-1", "--name", TOO_LONG, "--no-worker"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "must be at most 200 characters. Got 201 characters instead." in err
    from mmcorr.jobs import list_jobs

    assert list_jobs() == []  # nothing was queued


def test_train_page_says_it_and_queues_nothing(mmcorr_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    from mmcorr.data import DatasetRegistry, make_demo

    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.delenv("MMCORR_PASSWORD", raising=False)
    DatasetRegistry().save(make_demo("synthetic", seed=0, n_samples=60), "tiny")
    app: Any = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("pages/train.py").run()
    app.selectbox(key="model").set_value("cca")
    for box in app.text_input:
        if box.label == "Run name (optional)":
            box.set_value(TOO_LONG)
    app.button(key="train").click().run()
    assert [e.value for e in app.exception] == []
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and "at most 200 characters" in errors[0] and "Got 201 characters" in errors[0]
    from mmcorr.jobs import list_jobs

    assert list_jobs() == []
