"""`synthlab talk` end to end (the console script's `main`, in-process), plus the pieces with known answers and every
bad-input path (exit status 2, one line naming the problem, no output written).

The network is a small PC-AVS with seeded random weights saved as a preset card in a temporary folder and passed with
`--preset CARD.json`, so these tests do not depend on the shipped `talk-small` preset (before or after it exists);
`test_default_preset` checks the default either way. Output checks read the mp4 back with PyAV: T video frames at 25 fps
and an AAC stream lasting T/25 s, where T = whole 40 ms frames in the speech.
"""
import contextlib, io, json, os, subprocess, sys, warnings
from pathlib import Path
import numpy as np
import pytest
import torch

from synthlab import hub
from synthlab.io import write_image, read_image, write_audio, write_video
from synthlab.talk.audio import load_audio, resample
from synthlab.talk.data import make_clip, write_clip, voxceleb_crop, detect_faces
from synthlab.talk.model import build_pcavs, PCAVS, PCAVSConfig
from synthlab.talk.cli import (pose_indices, crop_face, face_square, square_crop, read_speech, talk_frames, fit,
                               load_talk_model, resolve_crop, _to_model)

BIN = Path(sys.executable).parent / "synthlab"
N = 12                                          # frames of the synthetic clip (0.48 s)

def run_main(*argv):
    "The console script's `main` in-process: (exit status, stdout, stderr)."
    from synthlab.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()

def one_error_line(err:str) -> str:
    lines = [l for l in err.splitlines() if l.strip() and "warning:" not in l and "note:" not in l]
    assert len(lines) == 1, f"expected one error line, got:\n{err}"
    assert "Traceback" not in err and lines[0].startswith("synthlab talk: error:"), err
    return lines[0]

def probe(path):
    "(video frames, fps, audio seconds, audio rate, (width, height)) read back with PyAV; the audio duration is the stream's."
    import av
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        n, fps, size = sum(1 for _ in c.decode(vs)), float(vs.average_rate), (vs.width, vs.height)
    with av.open(str(path)) as c:
        assert c.streams.audio, "no audio stream"
        a = c.streams.audio[0]
        assert a.codec_context.name == "aac"
        samples, rate, dur = sum(f.samples for f in c.decode(a)), a.rate, float(a.duration * a.time_base)
    assert 0 <= samples - dur * rate < 1024 + 1, (samples, dur, rate)   # decoded = declared, up to the last AAC frame's padding
    return n, fps, dur, rate, size

@pytest.fixture(scope="module", autouse=True)
def _threads():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    "A preset card for an untrained small PC-AVS (seeded), in a temporary folder."
    d = tmp_path_factory.mktemp("presets")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        hub.save_weights(build_pcavs("small"), "talk-test", "synthlab.talk.model:build_pcavs", {"size": "small"}, folder=d)
    hub.save_weights(hub.TinyNet(), "tiny", "synthlab.hub:TinyNet", folder=d)
    return d / "talk-test.json"

@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("clip")
    c = make_clip(11, n_frames=N, size=128)
    write_clip(c, d / "clip")
    return d / "clip", c

@pytest.fixture(scope="module")
def bad(tmp_path_factory, clip):
    "A folder of broken inputs."
    d = tmp_path_factory.mktemp("bad")
    _, c = clip
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.float32)
    write_image(np.full((160, 160, 3), 128, np.uint8), d / "grey.png")
    write_image(np.concatenate([c.frames[0], c.frames[3]], 1), d / "two.png")           # two synthetic heads, 256x128
    write_image(c.frames[0][:, :100], d / "narrow.png")
    write_image(c.frames[0][::3, ::3], d / "tiny.png")                                 # 43x43
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg" * 10)
    (d / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk" * 8)
    (d / "corrupt.mp4").write_bytes(os.urandom(3000))
    (d / "empty.wav").write_bytes(b"")
    write_audio(np.zeros(16000, np.float32), d / "silent.wav", 16000)
    write_audio(tone[:600], d / "short.wav", 16000)                                    # 37.5 ms < one frame
    write_audio(tone, d / "tone.wav", 16000)
    write_video(c.frames[:4], d / "mute.mp4", fps=25)                                  # a video without sound as --audio
    (d / "ckpt_empty").mkdir()
    (d / "ckpt_other").mkdir()
    for k in ("G", "V", "E", "A_sync"): torch.save(hub.TinyNet().state_dict(), d / "ckpt_other" / f"latest_net_{k}.pth")
    return d

@pytest.fixture(scope="module")
def demo(shared_data, tmp_path_factory):
    "The real demo identity frame and a 1-second cut of the demo speech (16 kHz and a 44.1 kHz copy)."
    root = shared_data / "pcavs_demo"
    face, mp3 = root / "Input/517600055/000000.jpg", root / "Audio_Source/681600002.mp3"
    if not (face.exists() and mp3.exists()): pytest.skip("PC-AVS demo files not present")
    d = tmp_path_factory.mktemp("demo")
    wav = load_audio(mp3)[:16000]
    write_audio(wav, d / "speech1s.wav", 16000)
    write_audio(np.clip(resample(wav, 16000, 44100), -1, 1), d / "speech1s_44k.wav", 44100)
    return face, d

# --- pieces with known answers ----------------------------------------------------------------------------------------

def test_pose_indices_is_the_official_ping_pong():
    def calc_loop_idx(idx, loop_num):           # PC-AVS, verbatim
        flag = -1 * ((idx // loop_num % 2) * 2 - 1)
        new_idx = -flag * (flag - 1) // 2 + flag * (idx % loop_num)
        return (new_idx + loop_num) % loop_num
    assert pose_indices(10, 4).tolist() == [0, 1, 2, 3, 3, 2, 1, 0, 0, 1]
    for n in (1, 2, 5, 9): assert pose_indices(30, n).tolist() == [calc_loop_idx(i, n) for i in range(30)]
    with pytest.raises(ValueError, match="n_pose must be a positive integer"): pose_indices(4, 0)

def test_crops():
    assert resolve_crop("auto", (224, 224, 3)) == "voxceleb" and resolve_crop("auto", (300, 200, 3)) == "detect"
    g = np.arange(60 * 80 * 3, dtype=np.uint8).reshape(60, 80, 3)
    c = square_crop(g, 70, 50, 20)                                  # hangs off the bottom-right corner: edge repeated
    assert c.shape == (20, 20, 3) and (c[10:, 10:] == g[59, 79]).all() and (c[0, 0] == g[50, 70]).all()
    assert face_square((100, 50, 100, 100)) == (83, 40, 148)        # side 148; centre (150 + 7, 100 + 14) − 74
    assert fit(np.zeros((192, 192, 3), np.uint8), 128).shape == (128, 128, 3)

def test_detect_crop_matches_the_official_crop_on_demo_frames(shared_data):
    files = sorted((shared_data / "pcavs_demo/Input").glob("*/000000.jpg"))
    if not files: pytest.skip("demo frames not present")
    for f in files:                                                 # the detect margins reproduce rows 0:192, cols 16:208
        x0, y0, side = face_square(detect_faces(read_image(f))[0])
        assert abs(x0 - 16) <= 12 and abs(y0) <= 12 and abs(side - 192) <= 12, (f, x0, y0, side)
    img = read_image(files[0])
    assert np.array_equal(crop_face(img, "voxceleb"), voxceleb_crop(img, 192))

def test_speech_frames_and_edge_padding(bad):
    s = read_speech(bad / "tone.wav")
    assert s.n_frames == 25 and s.mels.shape == (25, 1, 80, 20)
    heard = lambda t: (s.mels[t, 0].max(0) > 0).tolist()           # which of the window's 20 mel rows carry sound
    assert heard(0) == [False] * 8 + [True] * 12                    # rows -8..-1 come before the audio: silence
    assert heard(13) == [True] * 20
    assert heard(24) == [True] * 19 + [False]                       # one row past the end: silence
    assert read_speech(bad / "tone.wav", max_seconds=0.3).n_frames == 7

def test_talk_frames_equals_animate_and_uses_the_pose(preset, clip):
    model, _ = load_talk_model(preset=str(preset))
    d, c = clip
    face, mels = c.frames[0], read_speech(d / "audio.wav").mels[:5]
    frames = np.stack(list(talk_frames(model, face, mels, batch=2)))
    with torch.no_grad(): ref = model.animate(_to_model(face[None], "cpu"), torch.from_numpy(mels), noise="buffers")
    ref = ((ref + 1) / 2 * 255).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    assert np.abs(frames.astype(int) - ref).max() <= 1
    seen, enc = [], model.encode_pose                               # which pose frames reach the pose encoder, in order
    model.encode_pose = lambda x: (seen.append(x), enc(x))[1]
    pose = c.frames[[0, 6]]
    posed = np.stack(list(talk_frames(model, face, mels, pose=pose, pose_index=[0, 1, 1, 0, 0], batch=2)))
    del model.encode_pose
    torch.testing.assert_close(torch.cat(seen), _to_model(pose[[0, 1, 1, 0, 0]], "cpu"))
    assert np.abs(posed[[0, 3, 4]].astype(int) - frames[[0, 3, 4]]).max() <= 1   # pose frame 0 = the identity frame

# --- the verb ---------------------------------------------------------------------------------------------------------

def test_synthetic_clip_with_pose_side_by_side(preset, clip, tmp_path):
    d, _ = clip
    out = tmp_path / "talk.mp4"
    rc, so, se = run_main("talk", "--face", d / "clip.mp4", "--audio", d / "audio.wav", "--pose", d / "clip.mp4", "-o", out,
                          "--crop", "none", "--preset", preset, "--side-by-side", "--batch", "5", "--no-progress", "--json")
    assert rc == 0, se
    j = json.loads(so)
    assert (j["frames"], j["seconds"], j["fps"], j["size"], j["pose_frames"], j["crop"]) == (N, N / 25, 25, 128, N, "none")
    assert j["fps_achieved"] > 0 and "talk-test" in j["model"]
    assert f"estimate: {N} frames" in se
    n, fps, asec, rate, size = probe(out)
    assert (n, fps, rate, size) == (N, 25.0, 16000, (3 * 128, 128))
    assert abs(asec - N / 25) < 0.002, asec

def test_demo_identity_and_real_speech(preset, demo, tmp_path):
    face, d = demo
    out = tmp_path / "demo.mp4"
    rc, so, se = run_main("talk", "--face", face, "--audio", d / "speech1s.wav", "-o", out, "--preset", preset, "--no-progress")
    assert rc == 0, se
    assert so.startswith(f"wrote {out}: 25 frames (1.00 s at 25 fps, 128 px)"), so
    n, fps, asec, rate, size = probe(out)
    assert (n, fps, size) == (25, 25.0, (128, 128)) and abs(asec - 1.0) < 0.002, (n, fps, asec)

def test_other_sample_rate_is_resampled_with_a_note(preset, demo, tmp_path):
    face, d = demo
    out = tmp_path / "demo44.mp4"
    rc, so, se = run_main("talk", "--face", face, "--audio", d / "speech1s_44k.wav", "-o", out, "--preset", preset,
                          "--no-progress", "--max-seconds", "0.4")
    assert rc == 0, se
    assert "note: speech1s_44k.wav is 44100 Hz; resampled to 16000 Hz" in se
    n, fps, asec, rate, _ = probe(out)
    assert (n, rate) == (10, 44100) and abs(asec - 0.4) < 0.002        # the file's own sound, cut to 10 frames

def test_force(preset, clip, tmp_path):
    d, _ = clip
    out = tmp_path / "o.mp4"
    args = ("talk", "--face", d / "clip.mp4", "--audio", d / "audio.wav", "-o", out, "--crop", "none", "--preset", preset, "--no-progress")
    assert run_main(*args, "--max-seconds", "0.2")[0] == 0
    before = out.read_bytes()
    rc, so, se = run_main(*args)
    assert rc == 2 and "already exists" in one_error_line(se) and "--force" in se
    assert out.read_bytes() == before                                  # left alone
    assert run_main(*args, "--force")[0] == 0
    assert probe(out)[0] == N                                          # replaced by the full-length run

def test_default_preset(clip, tmp_path):
    d, _ = clip
    rc, so, se = run_main("talk", "--face", d / "clip.mp4", "--audio", d / "audio.wav", "-o", tmp_path / "x.mp4", "--crop", "none",
                          "--no-progress", "--max-seconds", "0.12")
    if "talk-small" in hub.list_presets().names:
        assert rc == 0 and "PC-AVS (talk-small)" in so, se
    else:
        assert rc == 2 and "preset 'talk-small' is not installed" in one_error_line(se)

BAD = [  # (option overrides, text the one error line must contain)
    ({"--face": "grey.png", "--crop": "detect"}, "no face was found in grey.png"),
    ({"--face": "narrow.png", "--crop": "voxceleb"}, "narrow.png is 100x128, not square, so --crop voxceleb cannot use it"),
    ({"--face": "two.png", "--crop": "auto"}, "2 faces were found in two.png"),
    ({"--face": "narrow.png", "--crop": "none"}, "narrow.png is 100x128, not square"),
    ({"--face": "tiny.png", "--crop": "none"}, "tiny.png is 43x43 pixels; at least 64x64"),
    ({"--face": "corrupt.jpg"}, "corrupt.jpg"),
    ({"--face": "missing.png"}, "does not exist"),
    ({"--audio": "silent.wav"}, "silent.wav is silent"),
    ({"--audio": "empty.wav"}, "empty.wav is empty (0 bytes)"),
    ({"--audio": "short.wav"}, "short.wav lasts 38 ms, shorter than one video frame"),
    ({"--audio": "corrupt.wav"}, "cannot decode audio file"),
    ({"--audio": "mute.mp4"}, "mute.mp4 has no audio stream"),
    ({"--pose": "corrupt.mp4"}, "corrupt.mp4"),
    ({"--checkpoint": "ckpt_other", "--preset": None}, "latest_net_G.pth is not a PC-AVS generator checkpoint"),
    ({"--checkpoint": "ckpt_empty", "--preset": None}, "lacks latest_net_G.pth"),
    ({"--checkpoint": "ckpt_empty"}, "give --checkpoint or --preset, not both"),
    ({"--preset": "TINY"}, "tiny is a TinyNet, not a PC-AVS talking-face model"),
    ({"--batch": "0"}, "--batch must be a positive integer"),
    ({"--max-seconds": "0"}, "max_seconds must be a positive number"),
    ({"--threads": "0"}, "--threads must be a positive integer"),
    ({"-o": "out.avi"}, "cannot tell which format to write"),
]

@pytest.mark.parametrize("over,msg", BAD, ids=[m.split()[0] + str(i) for i, (_, m) in enumerate(BAD)])
def test_bad_input_is_one_line_and_exit_2(over, msg, preset, clip, bad, tmp_path):
    d, _ = clip
    opts = {"--face": d / "clip.mp4", "--audio": d / "audio.wav", "-o": tmp_path / "out.mp4", "--crop": "none", "--preset": preset}
    for k, v in over.items():
        if v is None: opts.pop(k); continue
        if v == "TINY": v = preset.parent / "tiny.json"
        opts[k] = v if k in ("--crop", "--batch", "--max-seconds", "--threads") else (tmp_path / v if k == "-o" else bad / v)
    argv = ["talk", "--no-progress"] + [x for k, v in opts.items() for x in (k, v)]
    rc, so, se = run_main(*argv)
    assert rc == 2, (rc, so, se)
    line = one_error_line(se)
    assert msg in line, line
    assert not list(tmp_path.iterdir()), "an output was written"

def test_checkpoint_error_verbose_shows_more(bad, clip, tmp_path):
    d, _ = clip
    argv = ("talk", "--face", d / "clip.mp4", "--audio", d / "audio.wav", "-o", tmp_path / "o.mp4", "--checkpoint", bad / "ckpt_other")
    rc, _, se = run_main(*argv, "-v")
    assert rc == 2 and "not a PC-AVS generator checkpoint" in se

def test_console_script_lists_the_verb():
    cmd = [str(BIN)] if BIN.exists() else [sys.executable, "-c", "import sys; from synthlab.cli import main; sys.exit(main())"]
    r = subprocess.run(cmd + ["talk", "--help"], capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0 and "--side-by-side" in r.stdout and "--checkpoint" in r.stdout

@pytest.mark.slow
def test_official_size_checkpoint(shared_reference, fill_weights, demo, tmp_path):
    "--checkpoint with official-size weights (deterministic fill, not the released ones): 224 px frames and the estimate line."
    face, d = demo
    ck = tmp_path / "ckpt"; ck.mkdir()
    fresh = PCAVS(PCAVSConfig.official())
    for letter, net in (("G", fresh.netG), ("V", fresh.netV), ("E", fresh.netE), ("A_sync", fresh.netA_sync)):
        rules = fill_weights.PCAVS_RULES if letter == "G" else None
        torch.save(fill_weights.filled_state_dict(net.state_dict(), rules=rules), ck / f"latest_net_{letter}.pth")
    del fresh
    out = tmp_path / "official.mp4"
    rc, so, se = run_main("talk", "--face", face, "--audio", d / "speech1s.wav", "-o", out, "--checkpoint", ck,
                          "--max-seconds", "0.08", "--no-progress", "--json")
    assert rc == 0, se
    assert "estimate: 2 frames (0.08 s) at 224 px with PC-AVS official (ckpt)" in se
    n, fps, asec, _, size = probe(out)
    assert (n, fps, size) == (2, 25.0, (224, 224)) and abs(asec - 0.08) < 0.002
