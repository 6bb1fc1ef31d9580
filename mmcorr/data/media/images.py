"""Images (.png, .jpg, .jpeg, .webp in a folder or .zip) -> pixels on a fixed square grid.

Two passes over the archive, one entry in memory at a time:

1. headers only (``Image.open`` reads the header, not the pixels): every file must be an image of
   at least :data:`MIN_SIDE` px a side, aspect ratio at most :data:`MAX_ASPECT`:1 and at most
   ``max_pixels`` pixels (a decompression bomb is refused before it is decoded). The channel count
   is decided here: 1 when every image is greyscale (grey modes, or a palette of greys), else 3 (grey images are replicated).
2. decode (JPEGs at a reduced scale through ``Image.draft``), apply the EXIF rotation, convert, resize to ``size`` x ``size``
   (bilinear, antialiased, after an integer ``reduce`` for large images; no letterboxing, so the aspect
   ratio is not kept) and write into a preallocated float32 array scaled to [0, 1].

Peak memory is the output array plus one encoded and one decoded image.
"""

from __future__ import annotations

import io
import struct
import warnings
from typing import Any

import numpy as np
from PIL import Image, ImageOps

from mmcorr._validation import DataError, check_int

from ..types import MediaSpec
from .archive import MediaArchive, MediaEntry

__all__ = [
    "DEFAULT_SIZE",
    "GREY_MODES",
    "MAX_ASPECT",
    "MAX_PIXELS",
    "MIN_SIDE",
    "PREVIEW_SIDE",
    "image_features",
    "is_grey",
    "load_images",
]

#: Default side of the square grid every image is resized to (16-128 is sensible; the image
#: encoder's cost grows with its square).
DEFAULT_SIZE = 32
#: Smallest image side accepted, in pixels.
MIN_SIDE = 4
#: Largest ratio of an image's longer to its shorter side.
MAX_ASPECT = 20.0
#: Largest image (width x height) decoded: Pillow's own decompression-bomb threshold (~89 Mpx).
MAX_PIXELS = int(Image.MAX_IMAGE_PIXELS or 89_478_485)
#: Longer side of the preview thumbnail.
PREVIEW_SIDE = 96
#: PIL modes without colour.
GREY_MODES: frozenset[str] = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: Errors Pillow raises on a corrupt, truncated or unsupported image.
_PIL_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    Image.DecompressionBombError,
    struct.error,
)


def image_features(channels: int, size: int) -> list[str]:
    """Feature names ``c{c}_y{yy}_x{xx}`` in the row-major order of (channels, size, size)."""
    w = max(2, len(str(size - 1)))
    return [f"c{c}_y{y:0{w}d}_x{x:0{w}d}" for c in range(channels) for y in range(size) for x in range(size)]


def _open(archive: MediaArchive, entry: MediaEntry, data: bytes) -> Image.Image:
    """The image's header (pixels not decoded); a file that is not a readable image is an error."""
    allowed = "PNG, JPEG or WebP"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=("PNG", "JPEG", "WEBP"))
    except Image.DecompressionBombError as exc:
        raise DataError(f"{archive.where(entry)} is too large to decode ({exc}); downscale it.") from None
    except Image.UnidentifiedImageError:
        raise DataError(
            f"{archive.where(entry)} is not an image Pillow can read; {allowed} images are allowed."
        ) from None
    except _PIL_ERRORS as exc:
        raise DataError(
            f"{archive.where(entry)} is a corrupt image ({exc}); {allowed} images are allowed."
        ) from None
    return im


def _check_header(archive: MediaArchive, entry: MediaEntry, im: Image.Image, max_pixels: int) -> None:
    w, h = im.size
    if min(w, h) < MIN_SIDE:
        raise DataError(
            f"{archive.where(entry)} is {w}x{h} px; images must be at least {MIN_SIDE} px on each side."
        )
    if max(w, h) > MAX_ASPECT * min(w, h):
        raise DataError(
            f"{archive.where(entry)} is {w}x{h} px, an aspect ratio of {max(w, h) / min(w, h):.0f}:1; at "
            f"most {MAX_ASPECT:.0f}:1 is allowed (every image is resized to one square grid, so "
            "strips and banners would be squashed beyond recognition). Crop it."
        )
    if w * h > max_pixels:
        raise DataError(
            f"{archive.where(entry)} is {w}x{h} px ({w * h / 1e6:,.0f} Mpx), over the "
            f"{max_pixels / 1e6:,.0f} Mpx limit on decoded images (a decompression bomb?). Downscale it."
        )


def is_grey(im: Image.Image) -> bool:
    """Whether an opened (not decoded) image has no colour: a grey mode, or a palette of greys."""
    if im.mode in GREY_MODES:
        return True
    pal = im.palette
    if im.mode not in ("P", "PA") or pal is None or pal.mode != "RGB":
        return False
    rgb = np.frombuffer(bytes(pal.palette), dtype=np.uint8)
    rgb = rgb[: len(rgb) // 3 * 3].reshape(-1, 3)
    return bool((rgb == rgb[:, :1]).all())


def _to_output_mode(im: Image.Image, channels: int) -> Image.Image:
    """A copy in mode "L" / "F" (grey, channels 1) or "RGB" (channels 3); 16-bit grey kept as float."""
    if im.mode.startswith("I") or im.mode == "F":
        arr = np.asarray(im, dtype=np.float32)
        scale = 65535.0 if im.mode.startswith("I") else 1.0
        grey = Image.fromarray(np.clip(arr / scale, 0.0, 1.0) * 255.0, mode="F")
        return grey if channels == 1 else grey.convert("L").convert("RGB")
    if im.mode in ("P", "PA") or (im.mode == "L" and "transparency" in im.info):
        im = im.convert("RGBA")  # a palette's transparency is resolved before dropping alpha
    return im.convert("L" if channels == 1 else "RGB")


def _preview(im: Image.Image) -> bytes:
    """Bytes of a thumbnail whose longer side is at most PREVIEW_SIDE: JPEG (quality 85) for colour
    without transparency, a few KB where a PNG of a photo takes ~20 (a 20,000-image archive's
    previews: ~80 MB, not ~400); PNG for grey and transparent images."""
    if im.mode.startswith("I") or im.mode == "F":
        thumb = _to_output_mode(im, 1).convert("L")
    elif im.mode in ("L", "LA", "RGB", "RGBA"):
        thumb = im
    else:
        thumb = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
    w, h = thumb.size
    scale = min(1.0, PREVIEW_SIDE / max(w, h))
    # resize, not thumbnail(): no full-size copy of the decoded image.
    thumb = thumb.resize(
        (max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR, reducing_gap=2.0
    )
    buf = io.BytesIO()
    if thumb.mode == "RGB":
        thumb.save(buf, format="JPEG", quality=85)
    else:
        thumb.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def load_images(
    archive: MediaArchive, *, spec: MediaSpec | None = None, max_pixels: int = MAX_PIXELS
) -> tuple[np.ndarray, MediaSpec, np.ndarray]:
    """Decode every image of ``archive`` onto the grid.

    spec: the MediaSpec of a fitted run; its ``size`` and ``channels`` are used instead of the
        defaults, so new images get the same features.
    max_pixels: refuse images with more pixels than this (decompression bombs).

    Returns (values float32 (n, C * size * size) in [0, 1], the MediaSpec used, previews (n,) of PNG or JPEG bytes).
    """
    n = len(archive.entries)
    if spec is not None:
        size = check_int("size", spec.params.get("size"), MIN_SIDE, 1024)
        channels = spec.params.get("channels")
        if channels not in (1, 3):
            raise DataError(f"The image spec's 'channels' must be 1 or 3. Got {channels!r} instead.")
    else:
        size, channels = DEFAULT_SIZE, 1
        for _, entry, data in archive.iter_bytes():
            im = _open(archive, entry, data)
            _check_header(archive, entry, im, max_pixels)
            if not is_grey(im):
                channels = 3
            im.close()
    out = np.empty((n, channels, size, size), dtype=np.float32)
    previews = np.empty(n, dtype=object)
    draft_side = max(size, PREVIEW_SIDE)
    for row, entry, data in archive.iter_bytes():
        im = _open(archive, entry, data)
        _check_header(archive, entry, im, max_pixels)
        try:
            if im.format == "JPEG":
                # Decode at 1/2, 1/4 or 1/8 scale when the image is much larger than needed.
                im.draft(None, (draft_side, draft_side))
            im.load()
            ImageOps.exif_transpose(im, in_place=True)  # phone photos store their rotation in EXIF
            previews[row] = _preview(im)
            grid = _to_output_mode(im, channels).resize(
                (size, size), Image.Resampling.BILINEAR, reducing_gap=2.0
            )
        except _PIL_ERRORS as exc:
            raise DataError(
                f"{archive.where(entry)} is a corrupt or truncated image ({exc}); re-export it."
            ) from None
        pixels = np.asarray(grid, dtype=np.float32)
        out[row] = (pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)) * (1.0 / 255.0)
        im.close()
    np.clip(out, 0.0, 1.0, out=out)
    params: dict[str, Any] = {"size": size, "channels": channels}
    used = MediaSpec(kind="image", shape=(channels, size, size), params=params)
    return out.reshape(n, -1), used, previews
