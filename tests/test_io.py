"Tests for synthlab.io: image/video/audio round trips, corrupt and truncated files, validation, no-overwrite and atomic writes."
import io, os, random, subprocess, sys
from fractions import Fraction
from pathlib import Path
import numpy as np
import pytest
import av
import soundfile as sf
from PIL import Image, ImageFile
import torch

from synthlab.core import SynthlabError, ShapeError, InputError, FileFormatError, MissingFileError, OverwriteError
from synthlab.io import (check_writable, read_image, write_image, read_video, write_video, video_info, VideoInfo,
                         read_audio, write_audio, show_frames, new_figure, figure_png, guard, _atomic_write)

torch.set_num_threads(1)


# ---------------------------------------------------------------- helpers

def _flat_clip(values, h=32, w=48):
    "Frames of constant grey levels `values`: decoded pixels must come back near those numbers."
    return np.stack([np.full((h, w, 3), v, np.uint8) for v in values])

def _ramp_clip(t=6, h=32, w=48):
    "A smooth horizontal ramp that moves 2 px per frame (cheap for H.264, still non-trivial)."
    x = np.linspace(0, 255, w + 2 * t)
    return np.stack([np.broadcast_to(x[2 * i:2 * i + w].astype(np.uint8)[None, :, None], (h, w, 3)) for i in range(t)]).copy()

def _tone(freq, sr, seconds=1.0, amp=0.5):
    return (amp * np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)).astype(np.float32)

def _peak_hz(x, sr):
    "Frequency of the strongest FFT bin."
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / sr)[spec.argmax()]

def _audio_only_mp4(path, sr=16000, seconds=0.5):
    "An .m4a/.mp4 with an AAC track and no video stream, made with PyAV."
    with av.open(str(path), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=sr); s.layout = "mono"
        fr = av.AudioFrame.from_ndarray(_tone(440, sr, seconds)[None], format="fltp", layout="mono")
        fr.sample_rate, fr.pts, fr.time_base = sr, 0, Fraction(1, sr)
        for p in s.encode(fr): c.mux(p)
        for p in s.encode(None): c.mux(p)
    return path

def _truncate(src: Path, dst: Path, frac=0.5):
    b = src.read_bytes(); dst.write_bytes(b[:int(len(b) * frac)]); return dst

def _no_temp_files(folder: Path):
    return [p.name for p in folder.iterdir() if ".tmp" in p.name] == []


# ---------------------------------------------------------------- check_writable / atomic writes

def test_check_writable_smoke(tmp_path):
    assert check_writable(tmp_path / "new.png") == tmp_path / "new.png"
    assert check_writable(tmp_path / "sub" / "deeper" / "new.png", suffixes=(".png",)) == tmp_path / "sub" / "deeper" / "new.png"

def test_check_writable_errors(tmp_path):
    (tmp_path / "old.png").write_bytes(b"old")
    with pytest.raises(OverwriteError, match="old.png already exists.*force=True"): check_writable(tmp_path / "old.png")
    assert check_writable(tmp_path / "old.png", force=True) == tmp_path / "old.png"
    with pytest.raises(InputError, match="is a folder"): check_writable(tmp_path, force=True)
    with pytest.raises(InputError, match="suffix"): check_writable(tmp_path / "x.gif", suffixes=(".png",))
    with pytest.raises(InputError, match="is a file, not a folder"): check_writable(tmp_path / "old.png" / "x.png")
    with pytest.raises(InputError, match="non-empty"): check_writable("")
    with pytest.raises(InputError): check_writable(123)
    assert isinstance(OverwriteError("x"), FileExistsError)

def test_atomic_write_never_clobbers_a_file_that_appears_meanwhile(tmp_path):
    target = tmp_path / "race.txt"
    with pytest.raises(OverwriteError, match="already exists"):
        with _atomic_write(target, force=False) as t:
            t.write_bytes(b"mine")
            target.write_bytes(b"theirs")  # another process wins the race
    assert target.read_bytes() == b"theirs"
    assert _no_temp_files(tmp_path)

def test_atomic_write_cleans_up_on_failure(tmp_path):
    target = tmp_path / "x.bin"
    with pytest.raises(RuntimeError):
        with _atomic_write(target) as t:
            t.write_bytes(b"half"); raise RuntimeError("boom")
    assert not target.exists() and _no_temp_files(tmp_path)

def test_written_files_get_normal_permissions(tmp_path):
    umask = os.umask(0); os.umask(umask)
    p = write_image(np.zeros((2, 2, 3), np.uint8), tmp_path / "perm.png")
    assert (p.stat().st_mode & 0o777) == (0o666 & ~umask)

def test_failed_video_write_keeps_old_file(tmp_path):
    "A bad frame in the middle of a forced overwrite must leave the previous file intact and no temp file behind."
    p = tmp_path / "keep.mp4"
    p.write_bytes(b"previous content")
    frames = [np.zeros((16, 16, 3), np.uint8)] * 3 + [np.zeros((8, 16, 3), np.uint8)]
    with pytest.raises(ShapeError, match="frame 3"): write_video(frames, p, force=True)
    assert p.read_bytes() == b"previous content"
    assert _no_temp_files(tmp_path)


# ---------------------------------------------------------------- images

def test_png_roundtrip_exact(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (13, 17, 3), dtype=np.uint8)
    p = write_image(img, tmp_path / "a.png")
    out = read_image(p)
    assert out.dtype == np.uint8 and out.shape == (13, 17, 3)
    np.testing.assert_array_equal(out, img)

def test_writer_creates_parent_folders(tmp_path):
    p = write_image(np.zeros((3, 3, 3), np.uint8), tmp_path / "a" / "b" / "c.png")
    assert p.exists()

def test_jpeg_roundtrip_close(tmp_path):
    img = _ramp_clip(1, 32, 48)[0]
    out = read_image(write_image(img, tmp_path / "a.jpg", quality=95))
    assert out.shape == img.shape
    assert np.abs(out.astype(int) - img).mean() < 2
    assert read_image(write_image(img, tmp_path / "b.JPEG")).shape == img.shape  # suffix is case-insensitive

def test_gray_converted_only_when_asked(tmp_path):
    g = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    p = write_image(g, tmp_path / "g.png")
    rgb = read_image(p)
    assert rgb.shape == (3, 4, 3)
    for c in range(3): np.testing.assert_array_equal(rgb[..., c], g)
    np.testing.assert_array_equal(read_image(p, mode=None), g)
    np.testing.assert_array_equal(read_image(p, mode="L"), g)

def test_rgb_to_luma_known_value(tmp_path):
    "PIL's L = 0.299 R + 0.587 G + 0.114 B: pure red -> 76, pure green -> 150, pure blue -> 29."
    img = np.zeros((1, 3, 3), np.uint8); img[0, 0, 0] = img[0, 1, 1] = img[0, 2, 2] = 255
    np.testing.assert_array_equal(read_image(write_image(img, tmp_path / "rgb.png"), mode="L")[0], [76, 150, 29])

def test_palette_image_becomes_rgb(tmp_path):
    pal = Image.new("P", (4, 2)); pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.putdata([0, 1, 0, 1, 1, 0, 1, 0]); pal.save(tmp_path / "p.png")
    out = read_image(tmp_path / "p.png")
    assert out.shape == (2, 4, 3)
    np.testing.assert_array_equal(out[0, 0], [255, 0, 0]); np.testing.assert_array_equal(out[0, 1], [0, 0, 255])

def test_rgba_needs_a_decision(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8); rgba[..., :3] = [200, 100, 0]; rgba[..., 3] = 128
    p = write_image(rgba, tmp_path / "t.png")
    with pytest.raises(ShapeError, match="alpha='drop'"): read_image(p)
    np.testing.assert_array_equal(read_image(p, alpha="drop")[0, 0], [200, 100, 0])
    # white compositing by hand: c*a/255 + 255*(255-a)/255 with a=128 -> 227.4, 177.2, 127.0
    np.testing.assert_array_equal(read_image(p, alpha="white")[0, 0], [227, 177, 127])
    np.testing.assert_array_equal(read_image(p, mode=None), rgba)

def test_opaque_alpha_is_dropped_quietly(tmp_path):
    rgba = np.zeros((2, 3, 4), np.uint8); rgba[..., 0] = 9; rgba[..., 3] = 255
    np.testing.assert_array_equal(read_image(write_image(rgba, tmp_path / "o.png")), rgba[..., :3])

def test_gray_alpha(tmp_path):
    Image.fromarray(np.dstack([np.full((2, 2), 50, np.uint8), np.full((2, 2), 0, np.uint8)]), "LA").save(tmp_path / "la.png")
    with pytest.raises(ShapeError, match="alpha"): read_image(tmp_path / "la.png")
    np.testing.assert_array_equal(read_image(tmp_path / "la.png", alpha="white"), np.full((2, 2, 3), 255))
    np.testing.assert_array_equal(read_image(tmp_path / "la.png", alpha="drop"), np.full((2, 2, 3), 50))
    assert read_image(tmp_path / "la.png", mode=None).shape == (2, 2, 4)

def test_16bit_is_scaled_not_clipped(tmp_path):
    Image.fromarray(np.array([[0, 257, 32896, 65535]], np.uint16)).save(tmp_path / "d.png")
    np.testing.assert_array_equal(read_image(tmp_path / "d.png", mode=None), [[0, 1, 128, 255]])

@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_image(tmp_path, suffix):
    img = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    full = write_image(img, tmp_path / f"full{suffix}")
    bad = _truncate(full, tmp_path / f"cut{suffix}", 0.5)
    with pytest.raises(FileFormatError, match="cut"): read_image(bad)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False

def test_garbage_empty_missing_image(tmp_path):
    (tmp_path / "g.png").write_bytes(b"\x89PNG this is not really a png" * 10)
    with pytest.raises(FileFormatError): read_image(tmp_path / "g.png")
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty"): read_image(tmp_path / "e.png")
    with pytest.raises(MissingFileError, match="does not exist"): read_image(tmp_path / "nope.png")
    with pytest.raises(FileNotFoundError): read_image(tmp_path / "nope.png")  # also a builtin error
    with pytest.raises(InputError, match="folder"): read_image(tmp_path)

def test_decompression_bomb_guard(tmp_path):
    p = write_image(np.zeros((20, 20, 3), np.uint8), tmp_path / "big.png")
    with pytest.raises(FileFormatError, match="max_pixels"): read_image(p, max_pixels=399)
    assert read_image(p, max_pixels=400).shape == (20, 20, 3)
    assert read_image(p, max_pixels=None).shape == (20, 20, 3)
    with pytest.raises(InputError): read_image(p, max_pixels=0)

def test_read_image_bad_arguments(tmp_path):
    p = write_image(np.zeros((2, 2, 3), np.uint8), tmp_path / "a.png")
    with pytest.raises(InputError, match="mode"): read_image(p, mode="RGBA")
    with pytest.raises(InputError, match="alpha"): read_image(p, alpha="black")

def test_write_image_validation(tmp_path):
    img = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(InputError, match="suffix"): write_image(img, tmp_path / "a.bmp")
    with pytest.raises(InputError, match="uint8"): write_image(img.astype(np.float32), tmp_path / "a.png")
    with pytest.raises(InputError, match="tensor2img"): write_image(torch.zeros(3, 4, 4), tmp_path / "a.png")
    with pytest.raises(ShapeError, match=r"\(H, W, 3\)"): write_image(np.zeros((4, 4, 2), np.uint8), tmp_path / "a.png")
    with pytest.raises(ShapeError, match="empty"): write_image(np.zeros((0, 4, 3), np.uint8), tmp_path / "a.png")
    with pytest.raises(ShapeError, match="JPEG cannot store an alpha"): write_image(np.zeros((4, 4, 4), np.uint8), tmp_path / "a.jpg")
    with pytest.raises(InputError, match="quality"): write_image(img, tmp_path / "a.jpg", quality=0)
    assert not any(tmp_path.iterdir())  # nothing was written by any of the refused calls

def test_image_no_overwrite_and_force(tmp_path):
    p = tmp_path / "x.png"
    write_image(np.zeros((4, 4, 3), np.uint8), p)
    before = p.read_bytes()
    with pytest.raises(OverwriteError, match=str(p)): write_image(np.full((4, 4, 3), 255, np.uint8), p)
    assert p.read_bytes() == before
    write_image(np.full((4, 4, 3), 255, np.uint8), p, force=True)
    assert read_image(p).min() == 255


# ---------------------------------------------------------------- video

@pytest.fixture(scope="module")
def grey_video(tmp_path_factory):
    "8 flat frames with grey levels 0, 30, ..., 210 at 25 fps, 32x48."
    p = tmp_path_factory.mktemp("vid") / "grey.mp4"
    write_video(_flat_clip(range(0, 240, 30)), p, fps=25)
    return p

def test_video_roundtrip_values(grey_video):
    frames, fps = read_video(grey_video)
    assert frames.dtype == np.uint8 and frames.shape == (8, 32, 48, 3) and fps == 25.0
    means = frames.reshape(8, -1).mean(1)
    np.testing.assert_allclose(means, np.arange(0, 240, 30), atol=3)  # lossy, but flat grey stays grey

def test_video_start_and_max_frames(grey_video):
    frames, _ = read_video(grey_video, start=2, max_frames=3)
    assert frames.shape[0] == 3
    np.testing.assert_allclose(frames.reshape(3, -1).mean(1), [60, 90, 120], atol=3)
    assert read_video(grey_video, start=7)[0].shape[0] == 1
    with pytest.raises(InputError, match="past the end"): read_video(grey_video, start=8)
    with pytest.raises(InputError, match="start"): read_video(grey_video, start=-1)
    with pytest.raises(InputError, match="max_frames"): read_video(grey_video, max_frames=0)

def test_video_info(grey_video):
    info = video_info(grey_video)
    assert isinstance(info, VideoInfo)
    assert (info.n_frames, info.fps, info.size, info.width, info.has_audio, info.audio_rate) == (8, 25.0, (32, 48), 48, False, None)
    assert info.duration == pytest.approx(8 / 25, abs=0.01)
    assert info.codec in ("h264", "mpeg4")

def test_video_ramp_and_fractional_fps(tmp_path):
    clip = _ramp_clip(6)
    p = write_video(list(clip), tmp_path / "r.mov", fps=29.97)
    frames, fps = read_video(p)
    assert frames.shape == clip.shape and fps == pytest.approx(29.97, abs=1e-3)
    assert np.abs(frames.astype(int) - clip).mean() < 3

def test_video_fps_types(tmp_path):
    for i, fps in enumerate([np.float32(12.5), np.int64(10), Fraction(30000, 1001)]):
        assert read_video(write_video(_flat_clip([9, 9]), tmp_path / f"{i}.mp4", fps=fps))[1] == pytest.approx(float(fps), abs=1e-3)

def test_video_from_generator(tmp_path):
    p = write_video((np.full((16, 16, 3), 100, np.uint8) for _ in range(4)), tmp_path / "g.mp4", fps=10)
    frames, fps = read_video(p)
    assert frames.shape == (4, 16, 16, 3) and fps == 10.0

def test_video_odd_size_padded_to_even(tmp_path):
    clip = np.zeros((3, 17, 23, 3), np.uint8); clip[:, :, -1] = 200; clip[:, -1, :] = 200  # bright last row/column
    frames, _ = read_video(write_video(clip, tmp_path / "odd.mp4", fps=5))
    assert frames.shape == (3, 18, 24, 3)
    assert frames[:, :8, 23].mean() > 150 and frames[:, 17, :8].mean() > 150  # padding repeats the edge
    assert frames[:, :8, :8].mean() < 20

def test_video_odd_size_exact_with_yuv444(tmp_path):
    clip = _flat_clip([50, 100], h=17, w=23)
    frames, _ = read_video(write_video(clip, tmp_path / "odd444.mp4", fps=5, pix_fmt="yuv444p"))
    assert frames.shape == (2, 17, 23, 3)

def test_video_mpeg4_codec(tmp_path):
    p = write_video(_flat_clip([40, 160]), tmp_path / "m.mp4", fps=25, codec="mpeg4")
    assert video_info(p).codec == "mpeg4"
    np.testing.assert_allclose(read_video(p)[0].reshape(2, -1).mean(1), [40, 160], atol=4)

def test_unknown_codec_falls_back_to_mpeg4(tmp_path):
    with pytest.warns(UserWarning, match="using 'mpeg4'"):
        p = write_video(_flat_clip([40]), tmp_path / "f.mp4", fps=25, codec="no_such_codec")
    assert video_info(p).codec == "mpeg4"

def test_mkv_counts_frames(tmp_path):
    "Matroska stores no frame count; video_info counts packets instead."
    p = write_video(_flat_clip([10, 20, 30, 40, 50]), tmp_path / "c.mkv", fps=25)
    assert video_info(p).n_frames == 5
    assert read_video(p)[0].shape[0] == 5

def test_write_video_validation(tmp_path):
    ok = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(ShapeError, match=r"frame 2 is 8x16 but frame 0 is 16x16"):
        write_video([ok[0], ok[1], np.zeros((8, 16, 3), np.uint8)], tmp_path / "a.mp4")
    with pytest.raises(ShapeError, match=r"frame 0 must be \(H, W, 3\)"): write_video(np.zeros((2, 16, 16, 4), np.uint8), tmp_path / "a.mp4")
    with pytest.raises(ShapeError, match=r"wrap a single image"): write_video(ok[0], tmp_path / "a.mp4")
    with pytest.raises(InputError, match="uint8"): write_video(ok.astype(np.float32), tmp_path / "a.mp4")
    with pytest.raises(InputError, match="tensor"): write_video(torch.zeros(2, 3, 16, 16), tmp_path / "a.mp4")
    with pytest.raises(InputError, match="no frames"): write_video([], tmp_path / "a.mp4")
    for bad in (0, -5, float("nan"), "25", True):
        with pytest.raises(InputError, match="fps"): write_video(ok, tmp_path / "a.mp4", fps=bad)
    with pytest.raises(InputError, match="crf"): write_video(ok, tmp_path / "a.mp4", crf=99)
    with pytest.raises(InputError, match="suffix"): write_video(ok, tmp_path / "a.avi")
    assert not any(tmp_path.iterdir())

def test_write_video_audio_validation(tmp_path):
    ok, a = np.zeros((2, 16, 16, 3), np.uint8), _tone(440, 16000, 0.1)
    with pytest.raises(InputError, match="audio_rate"): write_video(ok, tmp_path / "a.mp4", audio=a)
    with pytest.raises(InputError, match="without audio"): write_video(ok, tmp_path / "a.mp4", audio_rate=16000)
    with pytest.raises(InputError, match="AAC cannot store audio at 12345"): write_video(ok, tmp_path / "a.mp4", audio=a, audio_rate=12345)
    with pytest.raises(ShapeError, match="transpose"): write_video(ok, tmp_path / "a.mp4", audio=np.stack([a, a], 1), audio_rate=16000)
    with pytest.raises(ShapeError, match="channels"): write_video(ok, tmp_path / "a.mp4", audio=np.stack([a, a, a]), audio_rate=16000)
    with pytest.raises(InputError, match=r"\[-1, 1\]"): write_video(ok, tmp_path / "a.mp4", audio=a * 4, audio_rate=16000)
    assert not any(tmp_path.iterdir())

def test_video_no_overwrite_and_force(grey_video, tmp_path):
    p = tmp_path / "v.mp4"
    write_video(_flat_clip([0, 0]), p, fps=25)
    before = p.read_bytes()
    with pytest.raises(OverwriteError, match="v.mp4 already exists"): write_video(_flat_clip([200, 200]), p, fps=25)
    assert p.read_bytes() == before
    write_video(_flat_clip([200, 200, 200]), p, fps=25, force=True)
    assert video_info(p).n_frames == 3

def test_corrupt_and_truncated_video(grey_video, tmp_path):
    (tmp_path / "junk.mp4").write_bytes(random.Random(1).randbytes(4096))
    with pytest.raises(FileFormatError, match="junk.mp4"): read_video(tmp_path / "junk.mp4")
    with pytest.raises(FileFormatError): video_info(tmp_path / "junk.mp4")
    cut = _truncate(grey_video, tmp_path / "cut.mp4", 0.6)
    with pytest.raises(FileFormatError, match="cut.mp4"): read_video(cut)
    with pytest.raises(MissingFileError): read_video(tmp_path / "missing.mp4")
    with pytest.raises(MissingFileError): video_info(tmp_path / "missing.mp4")

def test_video_without_frames(tmp_path):
    m4a = _audio_only_mp4(tmp_path / "sound.m4a")
    with pytest.raises(FileFormatError, match="has no video frames"): read_video(m4a)
    with pytest.raises(FileFormatError, match="has no video frames"): video_info(m4a)
    mp4 = _audio_only_mp4(tmp_path / "sound.mp4")
    with pytest.raises(FileFormatError, match="has no video frames"): read_video(mp4)
    wav = write_audio(_tone(440, 8000, 0.1), tmp_path / "s.wav", 8000)
    with pytest.raises(FileFormatError, match="has no video frames"): read_video(wav)


# ---------------------------------------------------------------- video + audio

def test_mux_audio_then_read_audio(tmp_path):
    sr, n = 16000, 12800  # 0.8 s = 10 frames at 12.5 fps
    tone = _tone(440, sr, n / sr)
    p = write_video(_ramp_clip(10), tmp_path / "av.mp4", fps=12.5, audio=tone, audio_rate=sr)
    info = video_info(p)
    assert (info.has_audio, info.audio_rate, info.audio_channels, info.n_frames) == (True, sr, 1, 10)
    got, rate = read_audio(p)
    assert rate == sr and got.dtype == np.float32
    assert len(got) == n  # AAC priming skipped and end padding cut
    assert _peak_hz(got, sr) == pytest.approx(440, abs=2)
    assert np.abs(got - tone)[2048:].max() < 0.01  # aligned sample for sample after the encoder's start-up
    assert read_video(p)[0].shape == (10, 32, 48, 3)

def test_mux_stereo_keeps_channels(tmp_path):
    sr = 16000
    stereo = np.stack([_tone(440, sr, 0.5), _tone(1000, sr, 0.5)])
    p = write_video(_flat_clip([50] * 5), tmp_path / "st.mp4", fps=10, audio=stereo, audio_rate=sr)
    assert video_info(p).audio_channels == 2
    got, _ = read_audio(p, mono=False)
    assert got.shape == (2, stereo.shape[1])
    assert _peak_hz(got[0], sr) == pytest.approx(440, abs=3) and _peak_hz(got[1], sr) == pytest.approx(1000, abs=3)
    got16, r = read_audio(p, sr=8000)
    assert r == 8000 and got16.ndim == 1 and abs(len(got16) - stereo.shape[1] // 2) <= 2


# ---------------------------------------------------------------- audio

def test_wav_roundtrip(tmp_path):
    x = _tone(440, 16000, 0.25)
    got, sr = read_audio(write_audio(x, tmp_path / "a.wav", 16000))
    assert sr == 16000 and got.shape == x.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, x, atol=1.5 / 32768)  # PCM16 quantisation
    got, _ = read_audio(write_audio(x, tmp_path / "f.wav", 16000, subtype="FLOAT"))
    np.testing.assert_array_equal(got, x)

def test_flac_roundtrip_and_int16_input(tmp_path):
    x = (_tone(300, 8000, 0.25) * 32767).astype(np.int16)
    got, sr = read_audio(write_audio(x, tmp_path / "a.flac", 8000))
    assert sr == 8000
    np.testing.assert_allclose(got, x / 32768, atol=1.5 / 32768)

def test_stereo_and_mono_mixdown(tmp_path):
    "Known value: left = 0.5, right = -0.1 everywhere, so the mono mix is 0.2."
    x = np.stack([np.full(1000, 0.5, np.float32), np.full(1000, -0.1, np.float32)])
    p = write_audio(x, tmp_path / "s.wav", 8000, subtype="FLOAT")
    st, _ = read_audio(p, mono=False)
    np.testing.assert_allclose(st, x)
    mono, _ = read_audio(p)
    assert mono.shape == (1000,)
    np.testing.assert_allclose(mono, 0.2, atol=1e-6)
    one, _ = read_audio(write_audio(x[0], tmp_path / "m.wav", 8000), mono=False)
    assert one.shape == (1, 1000)

def test_resample_preserves_frequency(tmp_path):
    x = _tone(440, 44100, 1.0)
    y, sr = read_audio(write_audio(x, tmp_path / "t.wav", 44100), sr=16000)
    assert sr == 16000 and abs(len(y) - 16000) <= 2
    assert np.abs(np.fft.rfft(y[:16000])).argmax() == 440  # 1 s of audio: bin k is k Hz
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)  # amplitude kept
    same, sr2 = read_audio(tmp_path / "t.wav", sr=44100)
    assert sr2 == 44100 and len(same) == 44100

def test_mp3_via_pyav(tmp_path):
    p = tmp_path / "t.mp3"
    with av.open(str(p), "w") as c:
        s = c.add_stream("libmp3lame", rate=22050); s.layout = "mono"
        fr = av.AudioFrame.from_ndarray(_tone(440, 22050, 1.0)[None], format="fltp", layout="mono")
        fr.sample_rate, fr.pts, fr.time_base = 22050, 0, Fraction(1, 22050)
        for pk in s.encode(fr): c.mux(pk)
        for pk in s.encode(None): c.mux(pk)
    y, sr = read_audio(p, sr=16000)
    assert sr == 16000 and abs(len(y) - 16000) < 1200
    assert _peak_hz(y, sr) == pytest.approx(440, abs=3)

def test_wav_behind_an_mp3_name(tmp_path):
    "Like the PC-AVS demo's 681600002.mp3, which is really a WAV: FFmpeg probes the content, not the name."
    x = _tone(200, 16000, 0.2)
    wav = write_audio(x, tmp_path / "real.wav", 16000, subtype="FLOAT")
    (tmp_path / "fake.mp3").write_bytes(wav.read_bytes())
    got, sr = read_audio(tmp_path / "fake.mp3")
    assert sr == 16000
    np.testing.assert_allclose(got, x, atol=1e-6)

def test_audio_from_audio_only_m4a(tmp_path):
    y, sr = read_audio(_audio_only_mp4(tmp_path / "s.m4a", 16000, 0.5))
    assert sr == 16000 and len(y) == 8000 and _peak_hz(y, sr) == pytest.approx(440, abs=3)

@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_truncated_audio(tmp_path, suffix):
    full = write_audio(np.random.default_rng(0).uniform(-0.5, 0.5, 20000).astype(np.float32), tmp_path / f"full{suffix}", 16000)
    with pytest.raises(FileFormatError, match="truncated|corrupt"): read_audio(_truncate(full, tmp_path / f"cut{suffix}", 0.5))

def test_truncated_m4a(tmp_path):
    full = _audio_only_mp4(tmp_path / "full.m4a")
    with pytest.raises(FileFormatError, match="cut.m4a"): read_audio(_truncate(full, tmp_path / "cut.m4a", 0.5))

def test_garbage_audio(tmp_path):
    for name in ("g.wav", "g.flac", "g.mp3", "g.m4a"):
        (tmp_path / name).write_bytes(b"RIFF" + random.Random(2).randbytes(2000))
        with pytest.raises(FileFormatError, match=name): read_audio(tmp_path / name)
    (tmp_path / "e.wav").write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty"): read_audio(tmp_path / "e.wav")
    with pytest.raises(MissingFileError): read_audio(tmp_path / "missing.wav")

def test_video_without_audio_stream(tmp_path):
    p = write_video(_flat_clip([0, 10]), tmp_path / "silent.mp4", fps=25)
    with pytest.raises(FileFormatError, match="has no audio stream"): read_audio(p)

def test_read_audio_bad_sr(tmp_path):
    p = write_audio(_tone(440, 8000, 0.1), tmp_path / "a.wav", 8000)
    for bad in (0, -1, 16000.5, True):
        with pytest.raises(InputError, match="sr"): read_audio(p, sr=bad)

def test_write_audio_validation(tmp_path):
    x = _tone(440, 8000, 0.1)
    with pytest.raises(InputError, match=r"\[-1, 1\]"): write_audio(x * 3, tmp_path / "a.wav", 8000)
    with pytest.raises(InputError, match="NaN"): write_audio(np.full(10, np.nan, np.float32), tmp_path / "a.wav", 8000)
    with pytest.raises(ShapeError, match="transpose"): write_audio(np.stack([x, x], 1), tmp_path / "a.wav", 8000)
    with pytest.raises(ShapeError): write_audio(np.zeros((1, 2, 3), np.float32), tmp_path / "a.wav", 8000)
    with pytest.raises(ShapeError, match="empty"): write_audio(np.zeros(0, np.float32), tmp_path / "a.wav", 8000)
    with pytest.raises(InputError, match="dtype"): write_audio(np.zeros(10, np.int32), tmp_path / "a.wav", 8000)
    with pytest.raises(InputError, match="sr"): write_audio(x, tmp_path / "a.wav", 0)
    with pytest.raises(InputError, match="suffix"): write_audio(x, tmp_path / "a.mp3", 8000)
    with pytest.raises(InputError, match="subtype"): write_audio(x, tmp_path / "a.flac", 8000, subtype="FLOAT")
    assert not any(tmp_path.iterdir())

def test_audio_no_overwrite_and_force(tmp_path):
    p = write_audio(np.zeros(100, np.float32), tmp_path / "a.wav", 8000)
    before = p.read_bytes()
    with pytest.raises(OverwriteError, match="a.wav"): write_audio(np.full(100, 0.5, np.float32), p, 8000)
    assert p.read_bytes() == before
    write_audio(np.full(100, 0.5, np.float32), p, 8000, force=True)
    assert read_audio(p)[0].mean() == pytest.approx(0.5, abs=1e-3)


# ---------------------------------------------------------------- show_frames

def test_show_frames_smoke_and_values():
    clip = _flat_clip([0, 100, 200], 8, 12)
    fig = show_frames(clip, titles=["a", "b", "c"])
    axes = [ax for ax in fig.axes if ax.images]
    assert len(axes) == 3 and [ax.get_title() for ax in axes] == ["a", "b", "c"]
    np.testing.assert_array_equal(axes[1].images[0].get_array(), clip[1])

def test_show_frames_inputs():
    fig = show_frames(torch.rand(2, 3, 8, 8))
    assert len([a for a in fig.axes if a.images]) == 2
    fig = show_frames([np.zeros((8, 8), np.uint8), np.zeros((8, 8, 3), np.uint8), torch.rand(1, 8, 8)], ncols=2)
    imgs = [a for a in fig.axes if a.images]
    assert len(imgs) == 3 and len(fig.axes) == 4  # 2 x 2 grid, last cell empty
    assert imgs[0].images[0].get_clim() == (0, 255)  # grayscale shown on the uint8 scale, not auto-stretched
    assert show_frames(np.zeros((8, 8, 3), np.uint8)).axes[0].images  # a single image

def test_show_frames_errors():
    with pytest.raises(InputError, match="titles"): show_frames([np.zeros((4, 4, 3), np.uint8)] * 2, titles=["one"])
    with pytest.raises(InputError, match="no frames"): show_frames([])
    with pytest.raises(ShapeError): show_frames([np.zeros((4, 4, 5), np.uint8)])
    with pytest.raises(InputError, match="ncols"): show_frames([np.zeros((4, 4, 3), np.uint8)], ncols=0)


# ---------------------------------------------------------------- figures and widget callbacks

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

def test_new_figure_png_size_and_pixels():
    import matplotlib.pyplot as plt
    before = plt.get_fignums()
    fig = new_figure(2, 1, dpi=50)
    assert plt.get_fignums() == before  # not registered with pyplot
    assert tuple(fig.get_size_inches()) == (2, 1) and fig.dpi == 50
    fig.patch.set_facecolor((1, 0, 0))  # an empty all-red figure
    png = figure_png(fig)
    assert png[:8] == PNG_SIGNATURE
    im = Image.open(io.BytesIO(png))
    assert im.size == (100, 50)  # figsize * dpi = (2 * 50, 1 * 50)
    px = np.asarray(im.convert("RGB"))
    assert (px == [255, 0, 0]).all()
    assert Image.open(io.BytesIO(figure_png(new_figure(1.5, 0.5)))).size == (108, 36)  # default dpi 72

def test_figure_png_errors():
    with pytest.raises(InputError, match="positive number for w"): new_figure(0, 1)
    with pytest.raises(InputError, match="positive number for h"): new_figure(1, -2)
    with pytest.raises(InputError, match="positive number for dpi"): new_figure(1, 1, dpi="72")
    with pytest.raises(InputError, match="positive number for w"): new_figure(True, 1)
    with pytest.raises(InputError, match="expects a matplotlib Figure"): figure_png(b"not a figure")

def test_guard_reports_errors_in_status():
    class Status: value = "stale"
    st = Status()
    assert guard(st, lambda: None) is True and st.value == ""
    assert guard(st, lambda: read_image("/no/such/file.png")) is False
    assert "could not draw this" in st.value and "does not exist" in st.value and "MissingFileError" not in st.value
    assert guard(st, lambda: {}["k"]) is False and "KeyError" in st.value
    with pytest.raises(AttributeError): guard(object(), lambda: None)  # a status needs a writable .value

def test_io_import_stays_light():
    code = "import sys, synthlab.io; print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[1])
    assert out.stdout.split() == ["False", "False"], out.stderr


# ---------------------------------------------------------------- real files (skip where ../shared/data is absent)

def _need(p: Path) -> Path:
    if not p.exists(): pytest.skip(f"{p} not present")
    return p

def test_real_sintel_frame(shared_data, tmp_path):
    img = read_image(_need(shared_data / "sintel_raft_demo" / "frame_0016.png"))
    assert img.shape == (436, 1024, 3) and img.dtype == np.uint8 and img.std() > 10
    crop = img[:64, :96]
    np.testing.assert_array_equal(read_image(write_image(crop, tmp_path / "c.png")), crop)

def test_real_anime_frame(shared_data):
    d = _need(shared_data / "anime_aot_sequences" / "AoT_S4E16_shot1")
    img = read_image(sorted(d.glob("*.png"))[0])
    assert img.shape == (360, 640, 3)

def test_real_pcavs_video_and_audio(shared_data):
    d = _need(shared_data / "pcavs_demo")
    mp4 = _need(d / "Input" / "00002.mp4")
    info = video_info(mp4)  # numbers from the data README: 126 frames, 5.04 s, 224x224, 25 fps, AAC 16 kHz mono
    assert (info.n_frames, info.fps, info.size, info.has_audio, info.audio_rate, info.audio_channels) == (126, 25.0, (224, 224), True, 16000, 1)
    assert info.duration == pytest.approx(5.04, abs=0.05)
    frames, fps = read_video(mp4, max_frames=4)
    assert frames.shape == (4, 224, 224, 3) and fps == 25.0
    a, sr = read_audio(mp4)
    assert sr == 16000 and abs(len(a) / sr - 5.04) < 0.05
    wav, sr = read_audio(_need(d / "Audio_Source" / "681600002.mp3"))  # really a WAV: 232,448 samples at 16 kHz
    assert sr == 16000 and len(wav) == 232448

def test_real_stereo_speech_resampled(shared_data):
    p = _need(shared_data / "talking_faces" / "audio" / "retalking_audio_1.wav")
    st, sr = read_audio(p, mono=False)
    assert st.ndim == 2 and st.shape[0] == 2 and sr == 44100
    y, sr = read_audio(p, sr=16000)
    assert sr == 16000 and abs(len(y) - st.shape[1] * 16000 / 44100) <= 2
