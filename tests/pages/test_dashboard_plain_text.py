"""User-supplied strings are shown as plain text on every page (issue 14, item 8).

A job name, dataset name, cell value or error message holding Markdown or HTML must reach the page
escaped: an image link would make the browser fetch an outside URL, ``**`` would turn bold. Every
string the page renders as Markdown (bodies of markdown / caption / title / subheader / alerts,
every label and help text) is collected from the element tree and checked: the hostile text must
appear only in its escaped form. Plotly figures get the same check on their JSON (plotly reads an
HTML subset in names, titles, ticks and hover text).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dashboard_helpers import no_exceptions, page, plotly_charts, write_run

PROBE = "![x](http://example.invalid/x.png) **bold** <img src=x>"
RAW = ("![x](", "](http", "**bold**", "<img")
# The probe as the pages must send it (every Markdown character backslash-escaped).
ESCAPED = r"\!\[x\](http\://example.invalid/x.png) \*\*bold\*\* \<img src=x\>"
# Fields Streamlit renders as Markdown; st.text bodies and metric values are plain text.
MARKDOWN_FIELDS = ("body", "label", "help")
PLAIN_ELEMENTS = ("text", "metric", "code")


def _strings(message: Any, element: str) -> Iterator[str]:
    for field, value in message.ListFields():
        if field.type == field.TYPE_MESSAGE:
            for item in value if getattr(field, "is_repeated", False) else [value]:
                yield from _strings(item, element)
        elif (
            field.name in MARKDOWN_FIELDS
            and isinstance(value, str)
            and not (element in PLAIN_ELEMENTS and field.name == "body")
        ):
            yield value


def markdown_texts(app: Any) -> list[str]:
    """Every string of the rendered page that Streamlit displays as Markdown."""
    found: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            found.extend(_strings(proto, str(getattr(node, "type", ""))))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app.main)
    walk(app.sidebar)
    return found


def assert_plain(app: Any, *, expect_escaped: bool = True) -> None:
    texts = markdown_texts(app)
    # what CommonMark leaves active once backslash escapes are taken out
    active = [(t, re.sub(r"\\.", "\x00", t, flags=re.DOTALL)) for t in texts]
    raw = [t for t, bare in active if any(marker in bare for marker in RAW)]
    assert raw == [], f"Markdown rendered from user text: {raw}"
    if expect_escaped:
        assert any(ESCAPED in t for t in texts), texts


def chart_strings(app: Any) -> list[str]:
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

    for chart in plotly_charts(app):
        walk(json.loads(chart.proto.spec).get("data"))
        walk(json.loads(chart.proto.spec).get("layout", {}).get("title"))
    return out


def test_plain_escapes_every_markdown_construct_and_reads_back() -> None:
    from pages._ui import plain

    assert plain(PROBE) == ESCAPED
    assert plain("# title\n- item\n1. first\n  2) second\n===") == (
        "\\# title\n\\- item\n1\\. first\n  2\\) second\n\\==="
    )
    assert plain("a_b `c` ~d~ $x$ :red[y] &amp; |t|") == (
        "a\\_b \\`c\\` \\~d\\~ \\$x\\$ \\:red\\[y\\] \\&amp; \\|t\\|"
    )
    # CommonMark drops a backslash before ASCII punctuation: the text reads back as typed
    text = "x.csv: cell '**b**' ![i](u) <b>1</b> # 2. - = \\ done"
    assert plain(text).replace("\\\\", "\x00").replace("\\", "").replace("\x00", "\\") == text


@pytest.fixture
def hostile_job(mmcorr_home: Path) -> str:
    """A dataset and a failed job, both named with the probe; the failure message quotes it."""
    from mmcorr.config import build_job_spec
    from mmcorr.data import DatasetRegistry, make_demo
    from mmcorr.jobs import JobState, get_store, submit

    dataset_id = DatasetRegistry().save(make_demo("synthetic", seed=0, n_samples=60), PROBE)
    job_id = submit(build_job_spec(dataset_id, name=PROBE, model="cca"))
    store = get_store()
    assert store.claim(job_id, os.getpid(), "test-host")
    assert store.finish(job_id, JobState.FAILED, f"The column {PROBE!r} is not a number.")
    return job_id


def test_home_lists_a_hostile_job_name_as_text(app: Any, hostile_job: str) -> None:
    page(app, "pages/home.py")
    no_exceptions(app)
    assert app.dataframe[0].value["name"].tolist() == [PROBE]  # a table cell: plain text
    assert_plain(app, expect_escaped=False)


def test_train_shows_a_hostile_job_name_and_message_as_text(app: Any, hostile_job: str) -> None:
    app.query_params["job"] = hostile_job
    page(app, "pages/train.py")
    no_exceptions(app)
    assert any(ESCAPED in h.value for h in app.subheader)
    assert any(ESCAPED in e.value for e in app.error)
    assert PROBE in app.selectbox(key="dataset").format_func(app.selectbox(key="dataset").value)
    assert_plain(app)


def test_data_shows_a_hostile_cell_value_as_text(app: Any) -> None:
    page(app, "pages/data.py")
    good = b"sample_id,g0\ns000,1.0\ns001,2.0\ns002,3.0\n"
    bad = f"sample_id,p0\ns000,1.0\ns001,{PROBE}\ns002,2.0\n".encode()
    app.file_uploader[0].set_value(("rna.csv", good, "text/csv"))
    app.file_uploader[1].set_value(("protein.csv", bad, "text/csv"))
    app.run()
    no_exceptions(app)
    assert len(app.error) == 1 and "protein.csv" in app.error[0].value
    assert_plain(app)


def test_data_shows_a_hostile_dataset_name_as_text(app: Any, hostile_job: str) -> None:
    page(app, "pages/data.py")
    no_exceptions(app)
    assert app.dataframe[0].value["name"].tolist() == [PROBE]
    assert_plain(app, expect_escaped=False)


def _hostile_run(home: Path, run_id: str, **kw: Any) -> None:
    """A fixture run named with the probe whose UMAP labels and ids carry it too."""
    from mmcorr.runs import BundleFile, write_frame

    run_dir = write_run(home, run_id, name=PROBE, **kw)
    umap = pd.read_parquet(run_dir / BundleFile.UMAP.value)
    umap.loc[umap.index[::2], "label"] = PROBE
    (run_dir / BundleFile.UMAP.value).unlink()
    write_frame(run_dir, BundleFile.UMAP, umap)


def test_explore_shows_a_hostile_run_name_and_label_as_text(app: Any, mmcorr_home: Path) -> None:
    _hostile_run(mmcorr_home, "run-a")
    page(app, "pages/explore.py")
    app.selectbox(key="umap_colour").set_value("label").run()
    no_exceptions(app)
    assert PROBE in app.selectbox[0].format_func(app.selectbox[0].value)  # an option: plain text
    assert_plain(app, expect_escaped=False)
    shown = chart_strings(app)
    assert not any("<img" in s for s in shown)
    assert "![x](http://example.invalid/x.png) **bold** &lt;img src=x&gt;" in shown  # a legend entry


def test_compare_shows_a_hostile_run_name_as_text(app: Any, mmcorr_home: Path) -> None:
    _hostile_run(mmcorr_home, "run-a", seed=1)
    write_run(mmcorr_home, "run-b", seed=2)
    page(app, "pages/compare.py")
    no_exceptions(app)
    assert PROBE in app.dataframe[0].value["name"].tolist()
    assert_plain(app, expect_escaped=False)
    shown = chart_strings(app)
    assert shown and not any("<img" in s for s in shown)
    assert any("&lt;img src=x&gt; (run-a)" in s for s in shown)  # a bar's label
