"""Audio clips in a folder or .zip -> pooled log-mel spectrograms (mmcorr.data.media.audio)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mmcorr._validation import DataError
from mmcorr.data.media import load_media
from mmcorr.data.media.audio import pool_frames


def _tone(
    freq: float, sr: int = 16000, seconds: float = 0.5, channels: int = 1, amp: float = 0.5
) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    y = (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([y] * channels, axis=1) if channels > 1 else y


def _wav(y: np.ndarray, sr: int, fmt: str = "WAV") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt)
    return buf.getvalue()


def _folder(path: Path, files: dict[str, bytes]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (path / name).write_bytes(data)
    return path


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def test_tones_peak_in_the_right_mel_bands(tmp_path: Path) -> None:
    import librosa

    files = {"low.wav": _wav(_tone(440), 16000), "high.flac": _wav(_tone(880), 16000, "FLAC")}
    mod = load_media(_folder(tmp_path / "a", files), "snd", "audio")
    assert mod.values.shape == (2, 32 * 32) and mod.values.dtype == np.float32
    assert mod.ids.tolist() == ["high", "low"]
    assert mod.media is not None and mod.media.shape == (1, 32, 32)
    assert mod.media.params == {
        "sr": 16000,
        "n_fft": 512,
        "hop": 160,
        "n_mels": 32,
        "frames": 32,
        "max_seconds": 30,
    }
    assert mod.features[0] == "mel00_t00" and mod.features[-1] == "mel31_t31"
    centres = librosa.mel_frequencies(n_mels=34, fmax=8000)[1:-1]  # band centres of the 32 filters
    peak = mod.values.reshape(2, 32, 32).mean(axis=2).argmax(axis=1)
    high, low = int(peak[0]), int(peak[1])
    assert high > low
    assert abs(centres[low] - 440) < 120 and abs(centres[high] - 880) < 200


def test_stereo_44k_and_mono_8k_load_and_agree(tmp_path: Path) -> None:
    files = {"st.wav": _wav(_tone(440, 44100, channels=2), 44100), "mo.wav": _wav(_tone(440, 8000), 8000)}
    mod = load_media(_zip(tmp_path / "a.zip", files), "snd", "audio")
    st, mo = mod.values.reshape(2, 32, 32)[[1, 0]]
    assert np.isfinite(mod.values).all()
    assert st.mean(axis=1).argmax() == mo.mean(axis=1).argmax()


def test_folder_and_zip_identical_and_spec_reproduces(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    files = {
        f"c{i}.wav": _wav((0.1 * rng.normal(size=8000 + 3000 * i)).astype(np.float32), 16000)
        for i in range(3)
    }
    a = load_media(_folder(tmp_path / "a", files), "snd", "audio")
    b = load_media(_zip(tmp_path / "a.zip", files), "snd", "audio", spec=a.media)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.previews is not None and a.previews[0] == files["c0.wav"]


def test_short_and_long_clips(tmp_path: Path) -> None:
    from mmcorr.data.types import MediaSpec

    files = {
        "tiny.wav": _wav(_tone(440, seconds=0.02), 16000),
        "long.wav": _wav(_tone(440, seconds=3.0), 16000),
    }
    spec = MediaSpec(
        "audio",
        (1, 16, 8),
        {"sr": 16000, "n_fft": 512, "hop": 160, "n_mels": 16, "frames": 8, "max_seconds": 1},
    )
    mod = load_media(_folder(tmp_path / "a", files), "snd", "audio", spec=spec)
    assert mod.values.shape == (2, 128) and np.isfinite(mod.values).all()


def test_large_clip_preview_is_a_short_wav(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    big = _wav((0.2 * rng.normal(size=(44100 * 15, 1))).astype(np.float32), 44100)  # ~2.6 MB
    mod = load_media(_folder(tmp_path / "a", {"big.wav": big}), "snd", "audio")
    assert mod.previews is not None
    info = sf.info(io.BytesIO(mod.previews[0]))
    assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
    assert abs(info.duration - 10.0) < 0.01


def test_pool_frames_averages_and_stretches() -> None:
    x = np.arange(10, dtype=np.float32)[None]
    np.testing.assert_allclose(pool_frames(x, 5), [[0.5, 2.5, 4.5, 6.5, 8.5]])
    np.testing.assert_allclose(pool_frames(x[:, :3], 5), [[0.0, 0.5, 1.0, 1.5, 2.0]])
    np.testing.assert_allclose(pool_frames(x[:, :1], 3), [[0.0, 0.0, 0.0]])


def test_silent_clip_is_named(tmp_path: Path) -> None:
    files = {"ok.wav": _wav(_tone(440), 16000), "hush.wav": _wav(np.zeros(8000, np.float32), 16000)}
    with pytest.raises(DataError, match=r"a\.zip: entry 'hush\.wav' is silent"):
        load_media(_zip(tmp_path / "a.zip", files), "snd", "audio")


def test_zero_length_clip_is_named(tmp_path: Path) -> None:
    files = {"ok.wav": _wav(_tone(440), 16000), "empty.wav": _wav(np.zeros(0, np.float32), 16000)}
    with pytest.raises(DataError, match=r"entry 'empty\.wav' is a zero-length clip"):
        load_media(_folder(tmp_path / "a", files), "snd", "audio")


def test_unsupported_or_corrupt_clip_is_named(tmp_path: Path) -> None:
    noise = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    with pytest.raises(
        DataError, match=r"entry 'junk\.wav' is not audio soundfile can read .*WAV, FLAC or OGG"
    ):
        load_media(_folder(tmp_path / "a", {"junk.wav": noise}), "snd", "audio")


def test_sample_rate_outside_the_range_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"entry 'slow\.wav' has a sample rate of 500 Hz; 1000-384000 Hz"):
        load_media(_folder(tmp_path / "a", {"slow.wav": _wav(_tone(100, 500), 500)}), "snd", "audio")


def test_many_channels_are_mixed(tmp_path: Path) -> None:
    y = np.zeros((8000, 6), np.float32)
    y[:, 4] = _tone(440)
    mod = load_media(_folder(tmp_path / "a", {"six.wav": _wav(y, 16000)}), "snd", "audio")
    assert np.isfinite(mod.values).all()
