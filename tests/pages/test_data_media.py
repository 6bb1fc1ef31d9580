"""The Data page with raw modalities: a zip of PNGs, a caption column, a zip of WAVs, uploaded
through AppTest's file uploader; previews (thumbnails, escaped snippets, players), save, bad zips."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dashboard_helpers import no_exceptions, page

DATA = "pages/data.py"
N = 24
# Markdown, HTML and an image link in user text: shown as typed, never rendered.
CAPTION = "a **bold** <b>seven</b> ![x](http://example.invalid/x.png) number"


def _png(i: int) -> bytes:
    from PIL import Image

    pixels = (np.random.default_rng(i).random((16, 16)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _wav(i: int) -> bytes:
    import soundfile as sf

    t = np.arange(4000) / 8000
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * (200 + 20 * i) * t), 8000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _images(n: int = N) -> bytes:
    return _zip({f"s{i:03d}.png": _png(i) for i in range(n)})


def _clips(n: int = N) -> bytes:
    return _zip({f"s{i:03d}.wav": _wav(i) for i in range(n)})


def _captions(n: int = N) -> bytes:
    return ("id,caption\n" + "".join(f"s{i:03d},{CAPTION} {i}\n" for i in range(n))).encode()


def _upload(app: Any, *files: tuple[str, bytes, str]) -> None:
    page(app, DATA)
    app.number_input[0].set_value(len(files)).run()
    for i, upload in enumerate(files):
        app.file_uploader[i].set_value(upload)
    app.run()


def _upload_three(app: Any) -> None:
    _upload(
        app,
        ("images.zip", _images(), "application/zip"),
        ("captions.csv", _captions(), "text/csv"),
        ("clips.zip", _clips(), "application/zip"),
    )


def test_the_uploader_offers_zip_for_modalities_but_not_for_labels(app: Any) -> None:
    page(app, DATA)
    assert ".zip" in app.file_uploader(key="modality_file_0").proto.type
    assert ".zip" not in app.file_uploader(key="labels_file").proto.type


def test_images_captions_and_clips_pair_preview_and_save(app: Any, mmcorr_home: Path) -> None:
    _upload_three(app)
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    # the caption table has no numeric column: its longest text column is preselected
    assert app.selectbox(key="text_column_1").value == "caption"
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Paired samples"] == str(N)
    assert {"images features", "captions features", "clips features"} <= set(metrics)
    report = app.code[0].value
    assert "images.zip" in report and "clips.zip" in report and "captions.csv" in report

    images = list(app.get("image"))
    assert len(images) == 1
    shown = images[0].proto.imgs
    assert [im.caption for im in shown] == [f"s{i:03d}" for i in range(8)]  # captions = sample ids
    snippets = [m.value for m in app.markdown if m.value.startswith("**s0")]
    assert len(snippets) == 5
    assert "\\*\\*bold\\*\\*" in snippets[0] and "\\<b\\>" in snippets[0] and "\\!\\[x\\]" in snippets[0]
    assert len(list(app.get("audio"))) == 3
    assert any("32x32 grey pixels" in c.value for c in app.caption)

    app.button(key="save_dataset").click().run()
    no_exceptions(app)
    from mmcorr.data import DatasetRegistry

    reg = DatasetRegistry()
    (saved,) = reg.list()
    assert {m: s.kind for m, s in reg.media(saved.id).items()} == {
        "images": "image",
        "captions": "text",
        "clips": "audio",
    }
    assert reg.preview(saved.id, "captions", "s003") == f"{CAPTION} 3"
    assert reg.preview(saved.id, "images", "s003") is not None


def test_sample_ids_under_thumbnails_are_plain_text(app: Any) -> None:
    # st.image renders captions as Markdown: a file named [l](http:x).png must not become a link
    names = ["**b**", "_i_", "[l](http:x)", "<b>x"] + [f"s{i:03d}" for i in range(N)]
    members = {f"{n}.png": _png(i) for i, n in enumerate(names)}
    captions = "id,caption\n" + "".join(f"{n},text of {n}\n" for n in names)
    _upload(app, ("odd.zip", _zip(members), "application/zip"), ("c.csv", captions.encode(), "text/csv"))
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    shown = [im.caption for im in app.get("image")[0].proto.imgs]
    assert {"\\*\\*b\\*\\*", "\\_i\\_", "\\[l\\](http\\:x)", "\\<b\\>x"} <= set(shown)


def test_a_numeric_table_with_a_text_column_stays_numeric_unless_chosen(app: Any) -> None:
    rows = "".join(f"s{i:03d},{i * 0.5},{(i * 7) % 5},cell type {i % 3}\n" for i in range(N))
    table = ("sample_id,g0,g1,note\n" + rows).encode()
    _upload(app, ("rna.csv", table, "text/csv"), ("images.zip", _images(), "application/zip"))
    no_exceptions(app)
    picker = app.selectbox(key="text_column_0")
    assert picker.value == "numeric features"
    assert picker.options == ["numeric features", "text in column 'note'"]
    assert {m.label: m.value for m in app.metric}["rna features"] == "2"
    picker.set_value("note").run()
    no_exceptions(app)
    assert [e.value for e in app.error] == []
    assert {m.label: m.value for m in app.metric}["rna features"] == "2,048"  # hashed text features


def test_a_zip_entry_climbing_out_shows_one_error_naming_the_archive_and_entry(app: Any) -> None:
    bad = _zip({"s000.png": _png(0), "../x.png": _png(1)})
    _upload(app, ("evil.zip", bad, "application/zip"), ("captions.csv", _captions(), "text/csv"))
    no_exceptions(app)
    errors = [e.value for e in app.error]
    assert len(errors) == 1
    assert "evil.zip" in errors[0] and "../x.png" in errors[0]
    assert not any(b.label == "Save dataset" for b in app.button)


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"a.png": b"not an image at all"}, "a.png"),
        ({"a.png": b"", "b.wav": b""}, "mixes"),
    ],
)
def test_other_bad_zips_show_the_loader_message(app: Any, members: dict[str, bytes], expected: str) -> None:
    _upload(app, ("bad.zip", _zip(members), "application/zip"), ("captions.csv", _captions(), "text/csv"))
    no_exceptions(app)
    errors = [e.value for e in app.error]
    assert len(errors) == 1 and "bad.zip" in errors[0] and expected in errors[0]
