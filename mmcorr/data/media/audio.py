"""Audio clips (.wav, .flac, .ogg in a folder or .zip) -> fixed-size log-mel spectrograms.

Each clip, one at a time: decode with soundfile, block by block (only the first ``max_seconds``, default 30 s, are
read: longer clips are cut, which bounds memory and keeps one clip from dominating), mix to mono,
resample to ``sr`` (16 kHz) with a polyphase filter, then a log-mel spectrogram
(``n_fft`` 512 = 32 ms windows, ``hop`` 160 = 10 ms, ``n_mels`` 32 bands; ``log(mel + 1e-6)``).
Clips of any length become ``frames`` (32) time steps: adaptive average pooling over nearly equal
bins of frames (as ``torch.nn.AdaptiveAvgPool1d``), or, for a clip shorter than that, linear
interpolation. Clips of equal length are batched into one spectrogram call.
"""

from __future__ import annotations

import io
import warnings
from math import gcd
from typing import Any

import numpy as np
import soundfile as sf

from mmcorr._validation import DataError

from ..types import MediaSpec
from .archive import MediaArchive, MediaEntry

__all__ = ["AUDIO_DEFAULTS", "MIN_PEAK", "audio_features", "load_audio", "pool_frames"]

#: Every featuriser setting; recorded in ``MediaSpec.params`` and read back from a fitted run's spec.
#: sr: sample rate clips are resampled to (8000-22050 is sensible for speech and sounds);
#: n_fft / hop: STFT window and step in samples; n_mels: mel bands (16-128); frames: time steps
#: after pooling (8-128); max_seconds: only the first this many seconds of a clip are read.
AUDIO_DEFAULTS: dict[str, int] = {
    "sr": 16000,
    "n_fft": 512,
    "hop": 160,
    "n_mels": 32,
    "frames": 32,
    "max_seconds": 30,
}
#: A clip whose peak amplitude (full scale 1.0) stays below this is silent.
MIN_PEAK = 1e-4
#: Clips up to this size are their own preview; larger ones are previewed by a short 16-bit WAV.
PREVIEW_MAX_BYTES = 1 << 20
PREVIEW_SECONDS = 10
#: Sample rates accepted from a file's header, in Hz.
MIN_RATE, MAX_RATE = 1000, 384_000
_LOG_FLOOR = 1e-6
_BLOCK = 1 << 16
#: Samples (after resampling) held for batching before the spectrograms are computed (~16 MB).
_BATCH_SAMPLES = 4_000_000
_ALLOWED = "WAV, FLAC or OGG (Vorbis) audio"


def audio_features(n_mels: int, frames: int) -> list[str]:
    """Feature names ``mel{mm}_t{tt}`` in the row-major order of (1, n_mels, frames)."""
    w = max(2, len(str(max(n_mels, frames) - 1)))
    return [f"mel{m:0{w}d}_t{t:0{w}d}" for m in range(n_mels) for t in range(frames)]


def pool_frames(spec: np.ndarray, frames: int) -> np.ndarray:
    """Resample the last axis of ``spec`` (..., L) to ``frames`` steps.

    L >= frames: adaptive average pooling, bin i covering [floor(i L / T), ceil((i + 1) L / T));
    L < frames: linear interpolation between the L frames (a single frame is repeated).
    """
    length = spec.shape[-1]
    if length >= frames:
        i = np.arange(frames)
        start = (i * length) // frames
        end = -((-(i + 1) * length) // frames)
        csum = np.concatenate(
            [np.zeros((*spec.shape[:-1], 1), np.float64), np.cumsum(spec, axis=-1, dtype=np.float64)], axis=-1
        )
        return ((csum[..., end] - csum[..., start]) / (end - start)).astype(np.float32)
    pos = np.linspace(0.0, length - 1, frames)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, length - 1)
    frac = (pos - lo).astype(np.float32)
    return (spec[..., lo] * (1 - frac) + spec[..., hi] * frac).astype(np.float32)


def _params(spec: MediaSpec | None) -> dict[str, int]:
    params = {**AUDIO_DEFAULTS, **(spec.params if spec is not None else {})}
    for key in AUDIO_DEFAULTS:
        v = params[key]
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise DataError(f"The audio spec's {key!r} must be a positive int. Got {v!r} instead.")
    return {k: int(params[k]) for k in AUDIO_DEFAULTS}


def _decode(archive: MediaArchive, entry: MediaEntry, data: bytes, p: dict[str, int]) -> np.ndarray:
    """The clip as mono float32 at ``p["sr"]``, at most ``max_seconds`` long."""
    from scipy.signal import resample_poly

    where = archive.where(entry)
    try:
        with sf.SoundFile(io.BytesIO(data)) as fh:
            rate = int(fh.samplerate)
            if not MIN_RATE <= rate <= MAX_RATE:
                raise DataError(
                    f"{where} has a sample rate of {rate} Hz; {MIN_RATE}-{MAX_RATE} Hz is allowed."
                )
            # Read block by block, mixing to mono as we go: a header may declare any channel count,
            # and only the mono signal is kept (at most max_seconds of it).
            n = min(max(int(fh.frames), 0), p["max_seconds"] * rate)
            mono = np.empty(n, dtype=np.float32)
            pos = 0
            for block in fh.blocks(blocksize=_BLOCK, frames=n, dtype="float32", always_2d=True):
                mono[pos : pos + len(block)] = block.mean(axis=1)
                pos += len(block)
    except DataError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError, EOFError) as exc:
        raise DataError(f"{where} is not audio soundfile can read ({exc}); {_ALLOWED} is allowed.") from None
    mono = mono[:pos]
    if len(mono) == 0:
        raise DataError(f"{where} is a zero-length clip (no samples); every clip needs sound.")
    if not np.isfinite(mono).all():
        raise DataError(f"{where} holds non-finite samples (NaN or inf); re-export it.")
    peak = float(np.abs(mono).max())
    if peak < MIN_PEAK:
        raise DataError(
            f"{where} is silent (peak amplitude {peak:.1e}, below {MIN_PEAK:g} of full scale); every clip needs sound."
        )
    if rate != p["sr"]:
        g = gcd(p["sr"], rate)
        mono = resample_poly(mono, p["sr"] // g, rate // g).astype(np.float32)
    return np.ascontiguousarray(mono, dtype=np.float32)


def _preview(data: bytes, mono: np.ndarray, sr: int) -> bytes:
    """The clip's own bytes when small, else a 16-bit mono WAV of its first PREVIEW_SECONDS."""
    if len(data) <= PREVIEW_MAX_BYTES:
        return data
    buf = io.BytesIO()
    sf.write(buf, np.clip(mono[: PREVIEW_SECONDS * sr], -1.0, 1.0), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def load_audio(
    archive: MediaArchive, *, spec: MediaSpec | None = None
) -> tuple[np.ndarray, MediaSpec, np.ndarray]:
    """Log-mel spectrograms of every clip in ``archive``.

    spec: the MediaSpec of a fitted run; its params are used instead of :data:`AUDIO_DEFAULTS`.
    Returns (values float32 (n, n_mels * frames), the MediaSpec used, previews (n,) of audio bytes).
    """
    import librosa

    p = _params(spec)
    n = len(archive.entries)
    out = np.empty((n, 1, p["n_mels"], p["frames"]), dtype=np.float32)
    previews = np.empty(n, dtype=object)
    pending: dict[int, list[tuple[int, np.ndarray]]] = {}

    def flush() -> None:
        for group in pending.values():
            rows = [r for r, _ in group]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "n_fft too large" for clips under 32 ms
                mel = librosa.feature.melspectrogram(
                    y=np.stack([y for _, y in group]),
                    sr=p["sr"],
                    n_fft=p["n_fft"],
                    hop_length=p["hop"],
                    n_mels=p["n_mels"],
                )
            out[rows, 0] = pool_frames(np.log(mel + _LOG_FLOOR), p["frames"])
        pending.clear()

    held = 0
    for row, entry, data in archive.iter_bytes():
        mono = _decode(archive, entry, data, p)
        previews[row] = _preview(data, mono, p["sr"])
        pending.setdefault(len(mono), []).append((row, mono))
        held += len(mono)
        if held >= _BATCH_SAMPLES:
            flush()
            held = 0
    flush()
    params: dict[str, Any] = dict(p)
    used = MediaSpec(kind="audio", shape=(1, p["n_mels"], p["frames"]), params=params)
    return out.reshape(n, -1), used, previews
