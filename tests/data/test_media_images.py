"""Images in a folder or .zip -> a Modality on a fixed grid (mmcorr.data.media.images)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmcorr._validation import DataError
from mmcorr.data.media import detect_kind, load_media


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _jpeg(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _colour_files(seed: int = 0) -> dict[str, bytes]:
    rng = np.random.default_rng(seed)
    return {
        "cat.png": _png(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)),
        "sub/dog.jpg": _jpeg(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)),
        "grey.png": _png(rng.integers(0, 256, (10, 10), dtype=np.uint8)),
    }


def test_folder_and_zip_give_identical_values(tmp_path: Path) -> None:
    files = _colour_files()
    folder = _write(tmp_path / "imgs", files)
    archive = _zip(tmp_path / "imgs.zip", files)
    a = load_media(folder, "img", "image")
    b = load_media(archive, "img", "image")
    np.testing.assert_array_equal(a.values, b.values)
    assert a.ids.tolist() == b.ids.tolist() == ["cat", "grey", "dog"]  # sorted by entry path
    assert a.values.dtype == np.float32 and a.values.shape == (3, 3 * 32 * 32)
    assert a.values.min() >= 0.0 and a.values.max() <= 1.0
    assert a.media is not None and a.media.shape == (3, 32, 32)
    assert a.media.params == {"size": 32, "channels": 3}
    assert a.features[0] == "c0_y00_x00" and a.features[-1] == "c2_y31_x31"
    assert archive.name in (a.source, b.source)
    assert detect_kind(folder) == "image" and detect_kind(archive) == "image"


def test_grey_images_give_one_channel_and_grey_replicates_in_colour(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    grey = {f"g{i}.png": _png(rng.integers(0, 256, (12, 12), dtype=np.uint8)) for i in range(3)}
    mod = load_media(_write(tmp_path / "g", grey), "g", "image")
    assert mod.media is not None and mod.media.shape == (1, 32, 32)
    both = load_media(
        _zip(tmp_path / "both.zip", {**grey, "c.png": _png(np.zeros((8, 8, 3), np.uint8) + 9)}), "b", "image"
    )
    assert both.media is not None and both.media.shape[0] == 3
    g0 = both.values[both.ids.tolist().index("g0")].reshape(3, 32, 32)
    np.testing.assert_allclose(g0[0], g0[1])
    np.testing.assert_allclose(g0[0], g0[2])
    np.testing.assert_allclose(g0[0], mod.values[0].reshape(32, 32), atol=1 / 255)


def test_spec_reproduces_features_on_a_second_load(tmp_path: Path) -> None:
    files = _colour_files(2)
    first = load_media(_write(tmp_path / "a", files), "img", "image")
    assert first.media is not None
    # Only the grey image this time: the spec keeps 3 channels and the grid of the first load.
    again = load_media(_zip(tmp_path / "b.zip", files), "img", "image", spec=first.media)
    np.testing.assert_array_equal(first.values, again.values)
    grey_only = load_media(
        _write(tmp_path / "c", {"grey.png": files["grey.png"]}), "img", "image", spec=first.media
    )
    assert grey_only.media == first.media
    np.testing.assert_array_equal(grey_only.values[0], first.values[first.ids.tolist().index("grey")])


def test_spec_size_changes_the_grid(tmp_path: Path) -> None:
    from mmcorr.data.types import MediaSpec

    spec = MediaSpec("image", (1, 8, 8), {"size": 8, "channels": 1})
    mod = load_media(_write(tmp_path / "a", _colour_files()), "img", "image", spec=spec)
    assert mod.values.shape == (3, 64) and mod.features[-1] == "c0_y07_x07"


def test_different_sizes_resize_and_keep_content(tmp_path: Path) -> None:
    # A left-dark / right-bright image stays so on the grid, whatever its size.
    files = {}
    for w in (8, 50, 300):
        arr = np.zeros((w // 2 + 4, w, 3), np.uint8)
        arr[:, w // 2 :] = 255
        files[f"s{w}.png"] = _png(arr)
    mod = load_media(_write(tmp_path / "a", files), "img", "image")
    grid = mod.values.reshape(3, 3, 32, 32)
    assert (grid[:, :, :, :12] < 0.1).all() and (grid[:, :, :, 20:] > 0.9).all()


def test_previews_are_small_colour_jpegs_and_grey_pngs(tmp_path: Path) -> None:
    big = np.zeros((200, 400, 3), np.uint8)
    big[..., 0] = 200
    mod = load_media(_write(tmp_path / "a", {"big.jpg": _jpeg(big)}), "img", "image")
    assert mod.previews is not None
    thumb = Image.open(io.BytesIO(mod.previews[0]))
    assert thumb.format == "JPEG" and max(thumb.size) <= 96 and thumb.mode == "RGB"
    r, g, _ = np.asarray(thumb, dtype=float).mean(axis=(0, 1))
    assert r > 150 and g < 50
    grey = load_media(_write(tmp_path / "g", {"g.png": _png(np.full((50, 50), 128, np.uint8))}), "g", "image")
    assert grey.previews is not None and Image.open(io.BytesIO(grey.previews[0])).format == "PNG"


def test_corrupt_png_is_named(tmp_path: Path) -> None:
    good = _png(np.random.default_rng(0).integers(0, 256, (40, 40), dtype=np.uint8))
    bad = good[:200] + bytes(range(256)) * 2 + good[712:]  # pixel data (IDAT) overwritten
    with pytest.raises(DataError, match=r"imgs\.zip: entry 'bad\.png' is a corrupt"):
        load_media(_zip(tmp_path / "imgs.zip", {"ok.png": good, "bad.png": bad}), "img", "image")


def test_truncated_jpeg_is_named(tmp_path: Path) -> None:
    data = _jpeg(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    with pytest.raises(DataError, match=r"entry 'cut\.jpg' is a corrupt or truncated image"):
        load_media(_write(tmp_path / "a", {"cut.jpg": data[: len(data) // 2]}), "img", "image")


def test_non_image_with_image_extension_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"entry 'fake\.png' is not an image"):
        load_media(_write(tmp_path / "a", {"fake.png": b"hello, not pixels" * 10}), "img", "image")


def test_other_file_in_an_image_archive_is_named(tmp_path: Path) -> None:
    files = {"a.png": _png(np.zeros((8, 8), np.uint8)), "notes.pdf": b"%PDF-1.4"}
    with pytest.raises(
        DataError, match=r"entry 'notes\.pdf' is not allowed in an archive of image files.*\.png, \.jpg"
    ):
        load_media(_zip(tmp_path / "a.zip", files), "img", "image")


def test_wild_aspect_ratio_is_named(tmp_path: Path) -> None:
    files = {"ok.png": _png(np.zeros((8, 8), np.uint8)), "strip.png": _png(np.zeros((5, 200), np.uint8))}
    with pytest.raises(
        DataError, match=r"entry 'strip\.png' is 200x5 px, an aspect ratio of 40:1; at most 20:1"
    ):
        load_media(_write(tmp_path / "a", files), "img", "image")


def test_tiny_image_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"entry 'dot\.png' is 3x3 px; images must be at least 4 px"):
        load_media(_write(tmp_path / "a", {"dot.png": _png(np.zeros((3, 3), np.uint8))}), "img", "image")


def test_decompression_bomb_is_refused_from_the_header(tmp_path: Path) -> None:
    files = {"huge.png": _png(np.zeros((100, 100), np.uint8))}
    with pytest.raises(DataError, match=r"entry 'huge\.png' is 100x100 px .*over the"):
        load_media(_write(tmp_path / "a", files), "img", "image", max_pixels=5000)


def test_jpeg_draft_decodes_large_images(tmp_path: Path) -> None:
    arr = np.zeros((1024, 1024, 3), np.uint8)
    arr[:512] = 255
    mod = load_media(_write(tmp_path / "a", {"big.jpg": _jpeg(arr)}), "img", "image")
    grid = mod.values.reshape(3, 32, 32)
    assert (grid[:, :14] > 0.9).all() and (grid[:, 18:] < 0.1).all()


def test_grey_palette_counts_as_grey(tmp_path: Path) -> None:
    grey_p = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).convert("P")
    colour_p = Image.fromarray(np.full((8, 8, 3), (200, 10, 10), np.uint8)).convert("P")
    files = {}
    for name, im in (("gp.png", grey_p), ("cp.png", colour_p)):
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        files[name] = buf.getvalue()
    only_grey = load_media(_write(tmp_path / "g", {"gp.png": files["gp.png"]}), "img", "image")
    assert only_grey.media is not None and only_grey.media.shape[0] == 1
    both = load_media(_write(tmp_path / "b", files), "img", "image")
    assert both.media is not None and both.media.shape[0] == 3


def test_exif_rotation_is_applied(tmp_path: Path) -> None:
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display = rotate 90 degrees clockwise
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", exif=exif.tobytes())
    mod = load_media(_write(tmp_path / "a", {"r.jpg": buf.getvalue()}), "img", "image")
    grid = mod.values.reshape(3, 32, 32)
    assert (grid[:, :12] > 0.9).all() and (grid[:, 20:] < 0.1).all()  # white is now the top half
