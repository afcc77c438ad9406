"Tests for synthlab.talk.audio: the PC-AVS audio front end (loading, lws log-mel, per-frame windows)."
import numpy as np
import pytest
import soundfile as sf
import torch

from synthlab.core import ShapeError, InputError, FileFormatError, MissingFileError
from synthlab.talk.audio import (load_audio, resample, rms_normalize, lws_window, lws_num_frames, lws_stft, hz_to_mel,
                                 mel_to_hz, mel_filterbank, melspectrogram, audio_to_mel, mel_windows, clip_windows,
                                 official_frame_indices, audio_frames, FMIN, FMAX, N_MELS)

torch.set_num_threads(1)
DEMO_WAV = "pcavs_demo/Audio_Source/681600002.mp3"   # really a RIFF WAV, despite the name


def tone(freq, sr, seconds=1.0, amp=0.5):
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)).astype(np.float32)

def peak_hz(x, sr=16000):
    return np.fft.rfftfreq(len(x), 1 / sr)[np.abs(np.fft.rfft(x * np.hanning(len(x)))).argmax()]

def write_mp4(path, audio=None, sr=16000, video=True, n_video=5):
    "A tiny mp4 written with PyAV: optional AAC mono track, optional 32x32 H.264 (or mpeg4) video."
    import av
    with av.open(str(path), "w") as out:
        a = v = None
        if audio is not None:
            a = out.add_stream("aac", rate=sr); a.layout = "mono"
        if video:
            v = out.add_stream("libx264" if "libx264" in av.codecs_available else "mpeg4", rate=25)
            v.width = v.height = 32; v.pix_fmt = "yuv420p"
        if a is not None:
            for i in range(0, len(audio), 1024):
                f = av.AudioFrame.from_ndarray(audio[None, i:i + 1024], format="fltp", layout="mono")
                f.sample_rate, f.pts = sr, i
                for p in a.encode(f): out.mux(p)
            for p in a.encode(None): out.mux(p)
        if v is not None:
            for _ in range(n_video):
                for p in v.encode(av.VideoFrame.from_ndarray(np.full((32, 32, 3), 128, np.uint8), format="rgb24")): out.mux(p)
            for p in v.encode(None): out.mux(p)


# ---------------------------------------------------------------- official fixture
def test_fixture_full_spectrogram(shared_reference, shared_data):
    ref = np.load(shared_reference / "pcavs/pcavs_reference.npz")
    spec = audio_to_mel(shared_data / DEMO_WAV)
    assert spec.shape == ref["spectrogram_full"].shape == (1460, 80) and spec.dtype == np.float32
    assert np.abs(spec - ref["spectrogram_full"]).max() <= 1e-6     # README tolerance (we are bit-exact in practice)


def test_fixture_windows(shared_reference, shared_data):
    ref = np.load(shared_reference / "pcavs/pcavs_reference.npz")
    spec = audio_to_mel(shared_data / DEMO_WAV)
    w = mel_windows(spec, ref["frame_indices"])
    assert w.shape == (4, 1, 80, 20) and w.dtype == np.float32
    assert np.abs(w - ref["spectrograms"]).max() <= 1e-6
    np.testing.assert_array_equal(4 * (ref["frame_indices"] - 2), ref["mel_start_rows"])
    t = official_frame_indices(spec)
    assert (t[0], t[-1], len(t)) == (2, 362, 361)                    # NOTES: 361 frames, t = 2..362
    assert audio_frames(spec) == 363                                  # the 363 jpgs of Mouth_Source/681600002


def test_demo_wav_named_mp3_and_demo_mp4(shared_data):
    w = load_audio(shared_data / DEMO_WAV)
    assert w.dtype == np.float32 and w.shape == (232448,)             # 14.528 s at 16 kHz
    m = load_audio(shared_data / "pcavs_demo/Audio_Source/00015.mp4") # AAC 16 kHz mono, 174 video frames
    assert len(m) == 174 * 640 and np.sqrt(np.mean(m ** 2)) > 1e-3


# ---------------------------------------------------------------- loading
def test_load_wav_and_resample_44k(tmp_path):
    sf.write(tmp_path / "t.wav", tone(1000, 44100, 0.5), 44100, subtype="PCM_16")
    w = load_audio(tmp_path / "t.wav")
    assert w.dtype == np.float32 and len(w) == 8000                  # 0.5 s at 16 kHz
    assert abs(peak_hz(w) - 1000) <= 2
    assert abs(np.sqrt(np.mean(w[500:-500] ** 2)) - 0.5 / np.sqrt(2)) < 5e-3   # amplitude preserved


def test_load_int16_is_exact_and_flac(tmp_path):
    x = (np.arange(-800, 800) * 20).astype(np.int16)
    sf.write(tmp_path / "a.wav", x, 16000, subtype="PCM_16")
    np.testing.assert_array_equal(load_audio(tmp_path / "a.wav"), x / np.float32(32768))   # as librosa: /32768
    sf.write(tmp_path / "a.flac", x, 16000)
    np.testing.assert_array_equal(load_audio(tmp_path / "a.flac"), x / np.float32(32768))


def test_content_sniffed_not_extension(tmp_path):
    sf.write(tmp_path / "looks_like.mp3", tone(500, 16000, 0.25), 16000, format="WAV", subtype="PCM_16")
    assert len(load_audio(tmp_path / "looks_like.mp3")) == 4000


def test_stereo_downmix_and_8k(tmp_path):
    st = np.stack([tone(300, 8000), np.zeros(8000, np.float32)], 1)
    sf.write(tmp_path / "s.wav", st, 8000, subtype="FLOAT")
    w = load_audio(tmp_path / "s.wav")
    assert len(w) == 16000 and abs(peak_hz(w) - 300) <= 2
    assert abs(np.abs(w[1000:-1000]).max() - 0.25) < 5e-3             # mean of the two channels


def test_mp4_audio_track(tmp_path):
    write_mp4(tmp_path / "v.mp4", audio=tone(440, 16000), sr=16000)
    w = load_audio(tmp_path / "v.mp4")
    assert w.dtype == np.float32 and len(w) == 16000                  # encoder padding cut to the declared duration
    assert abs(peak_hz(w) - 440) <= 2


def test_m4a_at_48k_is_resampled(tmp_path):
    write_mp4(tmp_path / "a.m4a", audio=tone(2000, 48000, 0.5), sr=48000, video=False)
    w = load_audio(tmp_path / "a.m4a")
    assert abs(len(w) - 8000) <= 16 and abs(peak_hz(w) - 2000) <= 4


def test_resample_function():
    y = resample(tone(1000, 44100), 44100, 16000)
    assert len(y) == 16000 and abs(peak_hz(y) - 1000) <= 2
    assert resample(np.ones(5, np.float32), 16000, 16000).tolist() == [1] * 5
    with pytest.raises(InputError, match="positive integer"): resample(np.ones(5), 0, 16000)


# ---------------------------------------------------------------- loading errors
def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"): load_audio(tmp_path / "nope.wav")
    with pytest.raises(InputError, match="folder"): load_audio(tmp_path)


def test_corrupt_files(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt \x00garbage")
    with pytest.raises(FileFormatError, match="cannot decode"): load_audio(tmp_path / "bad.wav")
    (tmp_path / "bad.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(FileFormatError): load_audio(tmp_path / "bad.mp4")
    (tmp_path / "zero.mp3").write_bytes(b"")
    with pytest.raises(FileFormatError, match="0 bytes"): load_audio(tmp_path / "zero.mp3")


def test_video_without_audio(tmp_path):
    write_mp4(tmp_path / "silent_film.mp4", audio=None)
    with pytest.raises(FileFormatError, match="no audio stream"): load_audio(tmp_path / "silent_film.mp4")


def test_empty_and_silent(tmp_path):
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.int16), 16000, subtype="PCM_16")
    with pytest.raises(InputError, match="no audio samples"): load_audio(tmp_path / "empty.wav")
    sf.write(tmp_path / "zeros.wav", np.zeros(3200, np.int16), 16000, subtype="PCM_16")
    with pytest.raises(InputError, match="silent"): load_audio(tmp_path / "zeros.wav")
    w = load_audio(tmp_path / "zeros.wav", allow_silence=True)
    assert len(w) == 3200 and not w.any()
    assert melspectrogram(w).max() == 0                               # digital silence -> exactly 0 after normalisation
    sf.write(tmp_path / "hiss.wav", np.full(3200, 2, np.int16), 16000, subtype="PCM_16")   # 2 LSB, RMS 6e-5
    with pytest.raises(InputError, match="silent"): load_audio(tmp_path / "hiss.wav")


# ---------------------------------------------------------------- STFT and mel
def test_lws_window_properties():
    a = lws_window()
    np.testing.assert_allclose((a ** 2).reshape(8, 160).sum(0), 1, atol=1e-12)   # perfect reconstruction
    assert abs(a.max() - 0.5) < 1e-6 and abs(a.min() - 6.136e-4) < 1e-6        # NOTES: min 6.1e-4, max 0.5
    np.testing.assert_allclose(a, a[::-1], atol=1e-15)                             # half-sample Hann is symmetric
    with pytest.raises(InputError, match="multiple"): lws_window(1000, 160)


def test_hop_count_arithmetic():
    # M = ceil((n + 1120) / 160)
    assert [lws_num_frames(n) for n in (1, 160, 161, 16000, 16001, 232448)] == [8, 8, 9, 107, 108, 1460]
    for n in (1, 999, 16000, 16001):
        assert len(melspectrogram(tone(300, 16000, 2.0)[:n] + 0.1)) == lws_num_frames(n)


def test_stft_frame_alignment():
    # frame m covers samples [160m - 1120, 160m + 160): a click at sample s shows in frames ceil((s-159)/160)..floor((s+1120)/160)
    for s in (0, 8000, 8159):
        x = np.zeros(16000, np.float32); x[s] = 1
        rows = np.nonzero(np.abs(lws_stft(x)).sum(1) > 1e-9)[0]
        assert (rows[0], rows[-1]) == (-(-(s - 159) // 160), (s + 1120) // 160)
    # a DC signal: |X[0]| is the window sum, the same for every full frame
    X = lws_stft(np.ones(4000, np.float32))
    np.testing.assert_allclose(np.abs(X[10:20, 0]), lws_window().sum(), rtol=1e-12)


def test_mel_scale_known_values():
    np.testing.assert_allclose(hz_to_mel([0, 200, 1000, 6400]), [0, 3, 15, 42], atol=1e-12)
    np.testing.assert_allclose(mel_to_hz(hz_to_mel([125, 999, 1001, 7600])), [125, 999, 1001, 7600], rtol=1e-12)
    fb = mel_filterbank()
    assert fb.shape == (80, 641) and fb.dtype == np.float32 and (fb >= 0).all()
    f = np.fft.rfftfreq(1280, 1 / 16000)
    assert fb[:, f < FMIN].sum() == 0 and fb[:, f > FMAX].sum() == 0
    np.testing.assert_allclose(fb.sum(1) * 12.5, 1, atol=0.06)        # Slaney: unit area per triangle (12.5 Hz bins)


@pytest.mark.parametrize("band", [5, 20, 40, 70])
def test_pure_tone_peaks_in_its_band(band):
    centres = mel_to_hz(np.linspace(hz_to_mel(FMIN), hz_to_mel(FMAX), N_MELS + 2))[1:-1]
    S = melspectrogram(tone(centres[band], 16000, 0.5))
    assert S.shape == (lws_num_frames(8000), 80) and S.dtype == np.float32
    assert set(S[10:-10].argmax(1).tolist()) == {band}
    assert 0 <= S.min() and S.max() <= 1


def test_rms_normalisation():
    x = tone(700, 16000, 0.25)
    y = rms_normalize(x)
    assert y.dtype == np.float32 and abs(np.sqrt(np.mean(y.astype(np.float64) ** 2)) - 0.1) < 1e-6
    np.testing.assert_allclose(melspectrogram(3 * x), melspectrogram(x), atol=1e-5)   # level-invariant
    assert not np.allclose(melspectrogram(3 * x, normalize=False), melspectrogram(x, normalize=False))
    np.testing.assert_allclose(rms_normalize(np.full(4, 1e-6, np.float32)), 1e-3, rtol=1e-5)   # eps floor 1e-4


def test_melspectrogram_input_errors():
    with pytest.raises(ShapeError, match="1-D"): melspectrogram(np.zeros((2, 1600), np.float32))
    with pytest.raises(InputError, match="empty"): melspectrogram(np.zeros(0, np.float32))
    with pytest.raises(InputError, match="int16"): melspectrogram(np.zeros(1600, np.int16))
    with pytest.raises(InputError, match="resample first"): melspectrogram(tone(440, 44100), sr=44100)
    S = melspectrogram(torch.from_numpy(tone(440, 16000, 0.1)))      # tensors are accepted
    assert S.shape == (lws_num_frames(1600), 80)


# ---------------------------------------------------------------- windows
TOY = np.repeat(np.arange(24, dtype=np.float32)[:, None], 80, 1) + np.arange(80, dtype=np.float32) / 100


def test_window_slicing_arithmetic():
    w = mel_windows(TOY, [2, 3])
    assert w.shape == (2, 1, 80, 20) and w.dtype == np.float32
    np.testing.assert_array_equal(w[0, 0], TOY[0:20].T)              # frame 2 -> rows 0..19, bands on H
    np.testing.assert_array_equal(w[1, 0], TOY[4:24].T)              # frame 3 -> rows 4..23
    assert mel_windows(TOY, 3).shape == (1, 1, 80, 20)
    assert mel_windows(TOY, []).shape == (0, 1, 80, 20)
    np.testing.assert_array_equal(official_frame_indices(TOY), [2, 3])
    assert audio_frames(TOY) == 4                                     # floor((24*160 - 1120) / 640)


def test_window_edge_handling():
    with pytest.raises(ShapeError, match=r"t=1 needs mel rows \[-4, 16\).*24 rows"): mel_windows(TOY, [1])
    with pytest.raises(ShapeError, match=r"t=4 needs mel rows \[8, 28\)"): mel_windows(TOY, [2, 4])
    assert mel_windows(TOY, [0, 1], pad=True).max() == 0              # official: start before row 0 -> all zeros
    s = mel_windows(TOY, [1], pad="silence")[0, 0]
    assert (s[:, :4] == 0).all() and np.array_equal(s[:, 4:], TOY[:16].T)
    o = mel_windows(TOY, [4, 9], pad="official")
    np.testing.assert_array_equal(o[0, 0, :, :16], TOY[8:].T); assert (o[0, 0, :, 16:] == 0).all()
    assert (o[1] == 0).all()                                          # entirely past the end
    short = TOY[:12]                                                  # shorter than one window: official gives zeros
    assert mel_windows(short, [2], pad="official").max() == 0
    np.testing.assert_array_equal(mel_windows(short, [2], pad="silence")[0, 0, :, :12], short.T)
    with pytest.raises(InputError, match="pad must be"): mel_windows(TOY, [2], pad="edge")
    with pytest.raises(InputError, match="integers"): mel_windows(TOY, [2.5])
    with pytest.raises(ShapeError, match=r"\(T, 80\)"): mel_windows(TOY[:, :40], [2])


def test_clip_windows_length_check():
    w = clip_windows(TOY)
    assert w.shape == (4, 1, 80, 20)
    np.testing.assert_array_equal(w[2:4], mel_windows(TOY, [2, 3]))
    assert w[:2].max() == 0                                           # official edge rule for frames 0, 1
    np.testing.assert_array_equal(clip_windows(TOY, 3), w[:3])
    with pytest.raises(ShapeError, match=r"audio lasts 4 video frames \(24 mel rows.*but 7 video frames"): clip_windows(TOY, 7)
    p = clip_windows(TOY, 7, pad=True)
    assert p.shape == (7, 1, 80, 20)
    np.testing.assert_array_equal(p[6, 0, :, :8], TOY[16:].T); assert (p[6, 0, :, 8:] == 0).all()   # rows 16..35: 8 real
    ws = clip_windows(TOY, edge="silence")
    np.testing.assert_array_equal(ws[1, 0, :, 4:], TOY[:16].T)
    with pytest.raises(InputError, match="edge must be"): clip_windows(TOY, edge="zeros")
    with pytest.raises(InputError, match="non-negative"): clip_windows(TOY, -1)


def test_real_clip_windows_match_loader_range():
    # one second of sound: 107 rows, lasts floor((107*160-1120)/640) = 25 video frames
    spec = melspectrogram(tone(440, 16000) + tone(1200, 16000, amp=0.2))
    assert audio_frames(spec) == 25
    w = clip_windows(spec)
    t = official_frame_indices(spec)
    np.testing.assert_array_equal(w[t], mel_windows(spec, t))
    with pytest.raises(ShapeError, match="lasts 25 video frames"): clip_windows(spec, 26)
