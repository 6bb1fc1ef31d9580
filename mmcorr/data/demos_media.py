"""The ``digits-media`` demo: scikit-learn's digits as images, captions and sounds (no download).

Every sample has a class (the digit) and three continuous factors drawn uniformly from [-1, 1]:
thickness, slant and size. Each modality sees the factors through its own noise and encodes them in
its own way (docs/demo_digits.md has the full generative story and the measured retrieval ceiling):

- image: the 8x8 digit upsampled to 32x32, zoomed about the centre (size), sheared (slant), blurred
  and soft-thresholded at a level that sets the stroke width (thickness), plus pixel noise;
- text: "a bold, slightly right-leaning, small seven": ordinal bins of each factor (5 per factor) in
  one of several phrasings and synonyms, a factor sometimes left out;
- audio: a harmonic tone whose pitch is the class (a note of the C major scale), whose harmonic
  tilt is the thickness (brightness), whose pitch glide is the slant and whose duration is the size.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr

from mmcorr._io import atomic_write_bytes, atomic_write_text
from mmcorr._validation import check_int

from .export import csv_text

__all__ = [
    "DIGITS_MEDIA",
    "FACTOR_NAMES",
    "SAMPLE_RATE",
    "BIN_EDGES",
    "FACTOR_WORDS",
    "NOTE_HZ",
    "DigitsMedia",
    "make_digits_media",
    "write_digits_media",
    "oracle_recall",
]

DIGITS_MEDIA = "digits-media"
FACTOR_NAMES: tuple[str, str, str] = ("thickness", "slant", "size")
SAMPLE_RATE = 16000
IMAGE_SIZE = 32
MAX_SECONDS = 1.0
#: Edges of the 5 ordinal bins a caption reports for each factor in [-1, 1].
BIN_EDGES = np.array([-0.6, -0.2, 0.2, 0.6])
#: Caption words per factor: FACTOR_WORDS[factor][bin] is a tuple of synonyms.
FACTOR_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "thickness": (
        ("very thin", "hairline", "very fine"),
        ("thin", "fine", "light"),
        ("medium-weight", "regular-weight", "medium-stroke"),
        ("bold", "thick", "heavy"),
        ("very bold", "very thick", "extra heavy"),
    ),
    "slant": (
        ("strongly left-leaning", "steeply left-slanted", "sharply left-tilted"),
        ("slightly left-leaning", "somewhat left-slanted", "mildly left-tilted"),
        ("upright", "straight", "vertical"),
        ("slightly right-leaning", "somewhat right-slanted", "mildly right-tilted"),
        ("strongly right-leaning", "steeply right-slanted", "sharply right-tilted"),
    ),
    "size": (
        ("tiny", "very small", "minute"),
        ("small", "compact", "little"),
        ("medium-sized", "mid-sized", "average-sized"),
        ("large", "big", "sizeable"),
        ("huge", "very large", "giant"),
    ),
}
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Pitch of each class: C4 D4 E4 F4 G4 A4 B4 C5 D5 E5 (at least a semitone apart).
NOTE_HZ = 261.6256 * 2.0 ** (np.array([0, 2, 4, 5, 7, 9, 11, 12, 14, 16]) / 12.0)

# Noise of each modality's view of the factors (standard deviation, factor units), the chance a
# caption leaves a factor out, and the nuisance noise: these set the retrieval ceiling.
IMAGE_FACTOR_NOISE = 0.1
AUDIO_FACTOR_NOISE = 0.1
TEXT_FACTOR_NOISE = 0.15
TEXT_OMIT_PROB = 0.2
PIXEL_NOISE = 0.05
AUDIO_NOISE = 0.005
N_HARMONICS = 8
GLIDE_SEMITONES = 1.0  # pitch change at |slant| = 1, half below and half above the note
_TABLE = 8192  # wavetable length (samples per period); a power of two
_CHUNK = 256  # clips rendered per block: bounds the (chunk, 16000) float64 temporaries


@dataclass(frozen=True, eq=False)
class DigitsMedia:
    """The digits-media demo in memory; n samples, row i of every array is the same sample.

    ids: object (n,) of str, "d0000", ...; images: uint8 (n, 32, 32) grey, ink bright;
    captions: object (n,) of str; audio: float32 (n, 16000) at ``sr`` Hz, each clip 0.5-1.0 s of tone
    over low background noise; labels: int64 (n,) the digit; factors: float64 (n, 3), the true
    thickness, slant, size in [-1, 1]. ``seen`` holds what each modality encodes: "image" and
    "audio" float64 (n, 3) (the factors plus that modality's noise), "text" int64 (n, 3) the bin
    0-4 reported per factor, -1 where the caption leaves it out (for :func:`oracle_recall`).
    """

    ids: np.ndarray
    images: np.ndarray
    captions: np.ndarray
    audio: np.ndarray
    labels: np.ndarray
    factors: np.ndarray
    seen: dict[str, np.ndarray]
    sr: int = SAMPLE_RATE
    factor_names: tuple[str, str, str] = FACTOR_NAMES

    @property
    def n_samples(self) -> int:
        return len(self.ids)


def make_digits_media(seed: int = 0, n: int | None = None) -> DigitsMedia:
    """Generate the digits-media demo (images, captions, audio sharing class and 3 factors).

    seed: any int in [0, 2**32 - 1]; the same seed (and n) gives identical arrays.
    n: None for all 1797 digits, else a seeded random subset of n in [20, 1797].
    """
    from sklearn.datasets import load_digits

    check_int("seed", seed, 0, 2**32 - 1)
    digits = load_digits()
    base = digits.images / 16.0  # (1797, 8, 8) in [0, 1]
    labels = digits.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    if n is not None:
        check_int("n", n, 20, len(labels))
        keep = np.sort(rng.choice(len(labels), size=n, replace=False))
        base, labels = base[keep], labels[keep]
    size = len(labels)
    factors = rng.uniform(-1.0, 1.0, size=(size, 3))
    seen_image = factors + IMAGE_FACTOR_NOISE * rng.standard_normal((size, 3))
    seen_audio = factors + AUDIO_FACTOR_NOISE * rng.standard_normal((size, 3))
    bins = np.digitize(factors + TEXT_FACTOR_NOISE * rng.standard_normal((size, 3)), BIN_EDGES)
    bins = np.where(rng.random((size, 3)) < TEXT_OMIT_PROB, -1, bins)
    return DigitsMedia(
        ids=np.array([f"d{i:04d}" for i in range(size)], dtype=object),
        images=_render_images(base, seen_image, rng),
        captions=_captions(labels, bins, rng),
        audio=_render_audio(labels, seen_audio, rng),
        labels=labels,
        factors=factors,
        seen={"image": seen_image, "audio": seen_audio, "text": bins},
    )


def _render_images(base: np.ndarray, seen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 8, 8) digits in [0, 1] -> (n, 32, 32) uint8, transformed by the seen factors."""
    from scipy.ndimage import gaussian_filter, map_coordinates, zoom

    n = len(base)
    up = np.clip(zoom(base, (1, 4, 4), order=1), 0.0, 1.0)  # (n, 32, 32); axis 0 untouched
    # One inverse affine map per image, sampled for the whole stack at once: output pixel (r, c)
    # reads the input at centre + A^-1 (r - centre, c - centre), A = shear @ scale.
    scale = 0.64 * 1.25 ** seen[:, 2]  # the digit spans 51%-80% of the frame
    shear = 0.4 * seen[:, 1]  # columns shift right towards the top for a positive slant
    centre = (IMAGE_SIZE - 1) / 2.0
    rr, cc = np.meshgrid(np.arange(IMAGE_SIZE) - centre, np.arange(IMAGE_SIZE) - centre, indexing="ij")
    u = rr[None] / scale[:, None, None]
    v = cc[None] / scale[:, None, None] + shear[:, None, None] * u
    k = np.broadcast_to(np.arange(n, dtype=np.float64)[:, None, None], u.shape)
    warped = map_coordinates(up, [k, u + centre, v + centre], order=1, mode="constant", cval=0.0)
    # Continuous stroke width: blur, then a soft threshold whose level falls as thickness rises.
    blurred = gaussian_filter(warped, sigma=(0.0, 1.0, 1.0))
    blurred /= np.maximum(blurred.max(axis=(1, 2), keepdims=True), 1e-6)
    level = (0.55 - 0.2 * seen[:, 0])[:, None, None]
    ink = 1.0 / (1.0 + np.exp(-(blurred - level) / 0.05))
    ink += PIXEL_NOISE * rng.standard_normal(ink.shape)
    return np.round(np.clip(ink, 0.0, 1.0) * 255.0).astype(np.uint8)


def _join(parts: list[np.ndarray], sep: str) -> np.ndarray:
    """Elementwise join of string arrays, skipping empty strings."""
    acc = parts[0]
    for part in parts[1:]:
        both = np.char.add(np.char.add(acc, sep), part)
        acc = np.where(acc == "", part, np.where(part == "", acc, both))
    return acc


def _captions(labels: np.ndarray, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Captions from the reported bins (-1: left out), in random order, synonym and phrasing."""
    n = len(labels)
    words = np.empty((n, 3), dtype="<U32")
    for f, name in enumerate(FACTOR_NAMES):
        table = np.array(FACTOR_WORDS[name])  # (5, n_synonyms)
        pick = table[np.maximum(bins[:, f], 0), rng.integers(0, table.shape[1], n)]
        words[:, f] = np.where(bins[:, f] < 0, "", pick)
    order = rng.permuted(np.tile(np.arange(3), (n, 1)), axis=1)
    slots = np.take_along_axis(words, order, axis=1)
    adjs = _join([slots[:, j] for j in range(3)], ", ")
    digit = np.array(DIGIT_WORDS)[labels]
    numeral = labels.astype(str)
    noun = _join([adjs, digit], " ")
    # "an" before a vowel sound: "an upright", "an eight", "an extra heavy"; but "a one".
    vowel = np.zeros(n, dtype=bool)
    for letter in "aeiou":
        vowel |= np.char.startswith(noun, letter)
    art = np.where(vowel & ~np.char.startswith(noun, "one"), "an ", "a ")
    phrasings = np.stack(
        [
            np.char.add(art, noun),
            _join([np.char.add("handwritten ", digit), adjs], ", "),
            _join([np.char.add("the digit ", numeral), adjs], ": "),
            np.char.add(np.char.add(art, noun), " in handwriting"),
            np.char.add(np.char.add("an image of ", art), noun),
        ]
    )
    chosen = phrasings[rng.integers(0, len(phrasings), n), np.arange(n)]
    return np.asarray(chosen.tolist(), dtype=object)


def _render_audio(labels: np.ndarray, seen: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n,) classes and seen factors -> float32 (n, 16000) clips at SAMPLE_RATE."""
    n = len(labels)
    n_samples = int(SAMPLE_RATE * MAX_SECONDS)
    f0 = NOTE_HZ[labels] * 2.0 ** (rng.uniform(-0.15, 0.15, n) / 12.0)  # +-15 cents of detuning
    duration = np.clip(0.75 + 0.25 * seen[:, 2], 0.5, 1.0)
    # A linear glide from half the glide below the note to half above: the note sounds mid-clip.
    f_start = f0 * 2.0 ** (-GLIDE_SEMITONES * seen[:, 1] / 24.0)
    f_end = f0 * 2.0 ** (GLIDE_SEMITONES * seen[:, 1] / 24.0)
    # Harmonic h has amplitude h^-tilt: a low tilt (thick) is bright, a high tilt (thin) is dull.
    tilt = 2.5 - 1.5 * seen[:, 0]
    amps = np.arange(1, N_HARMONICS + 1)[None, :] ** -tilt[:, None]
    amps /= np.sqrt((amps**2).sum(axis=1, keepdims=True))  # equal power whatever the tilt
    # One period of each clip's waveform as a wavetable (n, _TABLE): a matrix product with the
    # harmonics' sines; the clip is then a lookup by phase (error < -50 dB at _TABLE = 8192),
    # which is ~5x faster than summing the harmonics' sines over every sample.
    grid = 2.0 * np.pi * np.arange(_TABLE) / _TABLE
    tables = (amps @ np.sin(np.arange(1, N_HARMONICS + 1)[:, None] * grid[None, :])).astype(np.float32)
    gain = rng.uniform(0.15, 0.25, n)  # loudness is a nuisance, not a factor
    time = np.arange(n_samples) / SAMPLE_RATE
    out = np.empty((n, n_samples), dtype=np.float32)
    for lo in range(0, n, _CHUNK):
        sl = slice(lo, min(lo + _CHUNK, n))
        dur = duration[sl, None]
        # Cycles elapsed under the linear glide: integral of f_start + (f_end - f_start) t / dur.
        cycles = time * (f_start[sl, None] + (0.5 * (f_end - f_start)[sl, None] / dur) * time)
        index = (cycles * _TABLE).astype(np.int64) & (_TABLE - 1)  # the phase, mod one period
        index += (np.arange(sl.stop - lo) * _TABLE)[:, None]
        wave = np.take(tables[sl].ravel(), index)
        # 10 ms attack and 50 ms release, silent after the clip's own duration.
        env = np.clip(time / 0.01, 0.0, 1.0) * np.clip((dur - time) / 0.05, 0.0, 1.0)
        out[sl] = (gain[sl, None] * env).astype(np.float32) * wave
    out += AUDIO_NOISE * rng.standard_normal((n, n_samples), dtype=np.float32)
    return np.clip(out, -1.0, 1.0)


def _zip(members: dict[str, bytes]) -> bytes:
    """A zip whose bytes depend only on ``members`` (fixed timestamps, sorted names).

    Stored, not deflated: PNG is already compressed and the clips' noise floor does not compress.
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            zf.writestr(info, members[name])
    return buf.getvalue()


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image, mode="L").save(buf, format="PNG")
    return buf.getvalue()


def _wav(clip: np.ndarray, sr: int) -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, clip, sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def write_digits_media(out_dir: Path, seed: int = 0, n: int | None = None) -> dict[str, Path]:
    """Generate the demo and write it as files under ``out_dir`` (created if missing).

    Writes images.zip (``<id>.png``, 32x32 grey), captions.csv (columns id, caption), clips.zip
    (``<id>.wav``, 16-bit PCM mono at 16 kHz) and labels.csv (id, digit, thickness, slant, size).
    Each file is written beside its final name and renamed over it, so a reader never sees a partial
    file. The same seed and n give byte-identical files. Returns {"image", "text", "audio",
    "labels"} -> path.
    """
    data = make_digits_media(seed=seed, n=n)
    out = Path(out_dir)
    paths = {
        "image": out / "images.zip",
        "text": out / "captions.csv",
        "audio": out / "clips.zip",
        "labels": out / "labels.csv",
    }
    ids = [str(i) for i in data.ids]
    images = {f"{i}.png": _png(img) for i, img in zip(ids, data.images, strict=True)}
    atomic_write_bytes(paths["image"], _zip(images))
    clips = {f"{i}.wav": _wav(clip, data.sr) for i, clip in zip(ids, data.audio, strict=True)}
    atomic_write_bytes(paths["audio"], _zip(clips))
    captions = pd.DataFrame({"id": ids, "caption": list(data.captions)})
    atomic_write_text(paths["text"], csv_text(captions))
    table = pd.DataFrame({"id": ids, "digit": data.labels})
    for j, name in enumerate(data.factor_names):
        table[name] = np.round(data.factors[:, j], 6)
    atomic_write_text(paths["labels"], csv_text(table))
    return paths


def _bin_loglik(bins: np.ndarray, values: np.ndarray, sigma: float) -> np.ndarray:
    """log P(text bins of row i | factor values of row j): float (n_text, n_values).

    The text's perturbed factor is modelled as values_j + N(0, sigma^2); a left-out factor (-1) adds 0.
    """
    edges = np.r_[-np.inf, BIN_EDGES, np.inf]
    total = np.zeros((len(bins), len(values)))
    for f in range(bins.shape[1]):
        b = np.maximum(bins[:, f], 0)
        hi = ndtr((edges[b + 1][:, None] - values[None, :, f]) / sigma)
        lo = ndtr((edges[b][:, None] - values[None, :, f]) / sigma)
        ll = np.log(np.maximum(hi - lo, 1e-300))
        total += np.where(bins[:, f, None] < 0, 0.0, ll)
    return total


def _bin_prior(bins: np.ndarray) -> np.ndarray:
    """log P(text bins) with the factor uniform on [-1, 1] (a 2001-point grid): float (n,)."""
    grid = np.linspace(-1.0, 1.0, 2001)[:, None].repeat(3, axis=1)
    probs = np.exp(_bin_loglik(np.arange(5)[:, None].repeat(3, axis=1), grid, TEXT_FACTOR_NOISE))
    per_bin = np.log(probs.mean(axis=1))  # (5,): the same for every factor
    return np.where(bins < 0, 0.0, per_bin[np.maximum(bins, 0)]).sum(axis=1)


def _expected_recall(scores: np.ndarray, ks: tuple[int, ...]) -> dict[int, float]:
    """Mean Recall@k of score rows whose partner is on the diagonal, ties broken at random."""
    diag = np.diag(scores)[:, None]
    above = (scores > diag).sum(axis=1)
    tied = (scores == diag).sum(axis=1) - 1
    return {k: float(np.clip((k - above) / (tied + 1), 0.0, 1.0).mean()) for k in ks}


def oracle_recall(data: DigitsMedia, ks: tuple[int, ...] = (1, 5, 10)) -> dict[str, dict[int, float]]:
    """Cross-modal retrieval of an oracle that knows the class and each modality's seen factors.

    For every ordered pair "query->target" of image, text and audio, ranks all n targets of the
    query by the (near) Bayes posterior that they are its partner: other classes score -inf; within
    the class, image<->audio use the Gaussian likelihood of the seen factors (noise variances added)
    and text uses the probability of the reported bins (divided by their prior when text is the
    target). No model of the media can beat it on average: it is the ceiling set by the noise.
    Returns {"image->text": {1: recall@1, 5: ..., 10: ...}, ...}, recall expected over random ties.
    """
    same = data.labels[:, None] == data.labels[None, :]
    var = IMAGE_FACTOR_NOISE**2 + AUDIO_FACTOR_NOISE**2
    img, aud, bins = data.seen["image"], data.seen["audio"], data.seen["text"]
    gauss = -((img[:, None, :] - aud[None, :, :]) ** 2).sum(axis=2) / (2.0 * var)  # (image, audio)
    text_img = _bin_loglik(bins, img, float(np.hypot(TEXT_FACTOR_NOISE, IMAGE_FACTOR_NOISE)))
    text_aud = _bin_loglik(bins, aud, float(np.hypot(TEXT_FACTOR_NOISE, AUDIO_FACTOR_NOISE)))
    prior = _bin_prior(bins)[None, :]
    scores = {
        "image->audio": gauss,
        "audio->image": gauss.T,
        "text->image": text_img,
        "text->audio": text_aud,
        "image->text": text_img.T - prior,
        "audio->text": text_aud.T - prior,
    }
    return {k: _expected_recall(np.where(same, s, -np.inf), ks) for k, s in scores.items()}
