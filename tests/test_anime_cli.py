"""`synthlab interpolate` end to end, run as a user runs it (a subprocess of the console script), plus the error paths.

Frames are tiny synthetic cel drawings (96x64) and the clip is 5 frames at 8 fps with a 440 Hz tone, so every run takes
seconds. Frame count of a converted clip: N frames at factor f -> N*f frames (the last frame held f times, so the
duration and the sound match the input); with --trim-end -> (N-1)*f + 1.
"""
import contextlib, io, os, subprocess, sys, warnings
from pathlib import Path
import numpy as np
import pytest
import torch

from synthlab.io import write_image, read_image, write_video, video_info, read_audio
from synthlab.anime.data import make_triplet

BIN = Path(sys.executable).parent / "synthlab"
FPS, SR, N = 8, 16000, 5

def run(*args, timeout=240):
    cmd = [str(BIN)] if BIN.exists() else [sys.executable, "-c", "import sys; from synthlab.cli import main; sys.exit(main())"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env)

def run_main(*argv):
    "The console script's `main` in-process (fast): (exit status, stdout, stderr)."
    from synthlab.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()

def one_error_line(err: str) -> str:
    lines = [l for l in err.splitlines() if l.strip() and "warning:" not in l]
    assert len(lines) == 1, f"expected one error line, got:\n{err}"
    assert "Traceback" not in err and lines[0].startswith("synthlab interpolate: error:")
    return lines[0]

@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    torch.set_num_threads(1)
    d = tmp_path_factory.mktemp("frames")
    T = make_triplet(1, size=(96, 64), level=1)
    write_image(T.frame1, d / "A.png"); write_image(T.frame3, d / "B.png")
    write_image(T.frame1[:, :80], d / "narrow.png")
    return d, T

@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("clip")
    base = make_triplet(2, size=(96, 64), level=0).frame1
    frames = np.stack([np.roll(base, 5 * i, axis=1) for i in range(N)])
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(N * SR // FPS) / SR)).astype(np.float32)
    write_video(frames, d / "clip.mp4", fps=FPS, audio=tone, audio_rate=SR)
    write_video(frames[:1], d / "one.mp4", fps=FPS)
    return d, tone

# --- e2e through the console script ---------------------------------------------------------------------------------

def test_two_frames_default_model_and_n(frames, tmp_path):
    d, T = frames
    r = run("interpolate", d / "A.png", d / "B.png", "-o", tmp_path / "mid.png")
    assert r.returncode == 0, r.stderr
    mid = read_image(tmp_path / "mid.png")
    assert mid.shape == T.frame1.shape and mid.dtype == np.uint8
    assert "wrote" in r.stdout
    r = run("interpolate", d / "A.png", d / "B.png", "-o", tmp_path / "mid.png", "--n", "3", "--method", "dis")
    assert r.returncode == 0, r.stderr
    outs = [tmp_path / f"mid_{k}.png" for k in (1, 2, 3)]
    assert all(p.exists() and read_image(p).shape == T.frame1.shape for p in outs)

def test_video_factor_2_keeps_audio_and_shows_progress(clip, tmp_path):
    d, tone = clip
    r = run("interpolate", d / "clip.mp4", "--factor", "2", "-o", tmp_path / "out.mp4")
    assert r.returncode == 0, r.stderr
    vi, vin = video_info(tmp_path / "out.mp4"), video_info(d / "clip.mp4")
    assert (vi.width, vi.height) == (vin.width, vin.height) == (96, 64)
    assert vi.n_frames == 2 * N                                    # N*factor: the last frame is held, duration kept
    assert vi.fps == pytest.approx(2 * FPS)
    assert vi.duration == pytest.approx(N / FPS, abs=1 / FPS)
    assert vi.has_audio and vi.audio_rate == SR
    a_in, a_out = read_audio(d / "clip.mp4")[0], read_audio(tmp_path / "out.mp4")[0]
    assert abs(a_out.size - a_in.size) <= 1024 and abs(a_out.size / SR - N / FPS) < 0.07   # duration preserved
    n = min(a_in.size, a_out.size)
    assert np.corrcoef(a_in[:n], a_out[:n])[0, 1] > 0.95           # the same sound, not silence or noise
    assert "pair" in r.stderr and "4/4" in r.stderr                 # tqdm progress over the 4 pairs
    assert "12 fps" not in r.stdout and "16 fps" in r.stdout

def test_error_exit_2_one_line_leaves_files(frames, tmp_path):
    d, _ = frames
    out = tmp_path / "mid.png"; out.write_bytes(b"keep me")
    r = run("interpolate", d / "A.png", d / "narrow.png", "-o", tmp_path / "new.png")
    assert r.returncode == 2
    line = one_error_line(r.stderr)
    assert "A.png is 96x64 but narrow.png is 80x64" in line and not (tmp_path / "new.png").exists()
    r = run("interpolate", d / "A.png", d / "B.png", "-o", out, "--method", "average")
    assert r.returncode == 2 and "already exists" in one_error_line(r.stderr)
    assert out.read_bytes() == b"keep me"

# --- known values and the remaining error paths, in-process ---------------------------------------------------------

def test_average_at_t_is_exact(frames, tmp_path):
    d, T = frames
    rc, out, err = run_main("interpolate", d / "A.png", d / "B.png", "-o", tmp_path / "q.png", "--t", "0.25", "--method", "average")
    assert rc == 0, err
    want = 0.75 * T.frame1.astype(float) + 0.25 * T.frame3.astype(float)
    assert np.abs(read_image(tmp_path / "q.png") - want).max() <= 1

def test_n_pattern_and_force(frames, tmp_path):
    d, _ = frames
    pat = tmp_path / "f_{:02d}.png"
    assert run_main("interpolate", d / "A.png", d / "B.png", "-o", pat, "--n", "2", "--method", "average")[0] == 0
    assert (tmp_path / "f_01.png").exists() and (tmp_path / "f_02.png").exists()
    before = (tmp_path / "f_02.png").read_bytes()
    rc, _, err = run_main("interpolate", d / "A.png", d / "B.png", "-o", pat, "--n", "2", "--method", "dis")
    assert rc == 2 and "already exists" in one_error_line(err) and (tmp_path / "f_02.png").read_bytes() == before
    rc, _, err = run_main("interpolate", d / "A.png", d / "B.png", "-o", pat, "--n", "2", "--method", "dis", "--force")
    assert rc == 0, err

def test_trim_end_frame_count(clip, tmp_path):
    d, _ = clip
    rc, out, err = run_main("interpolate", d / "clip.mp4", "--factor", "3", "-o", tmp_path / "t.mp4", "--method", "average",
                            "--trim-end", "--no-progress")
    assert rc == 0, err
    vi = video_info(tmp_path / "t.mp4")
    assert vi.n_frames == (N - 1) * 3 + 1 and vi.fps == pytest.approx(3 * FPS)

@pytest.mark.parametrize("case", ["unreadable", "missing", "rgba", "tiny", "one_frame", "bad_t", "factor_on_images", "n_on_video", "three_inputs"])
def test_user_errors(case, frames, clip, tmp_path):
    (d, _), (vd, _) = frames, clip
    A, B, o = d / "A.png", d / "B.png", tmp_path / "o.png"
    if case == "unreadable":
        (tmp_path / "bad.png").write_bytes(b"\x89PNG but not really"); args, want = (A, tmp_path / "bad.png", "-o", o), "bad.png"
    elif case == "missing": args, want = (A, tmp_path / "nope.png", "-o", o), "does not exist"
    elif case == "rgba":
        rgba = np.zeros((64, 96, 4), np.uint8); rgba[..., 3] = 100; write_image(rgba, tmp_path / "rgba.png")
        args, want = (A, tmp_path / "rgba.png", "-o", o), "alpha"
    elif case == "tiny":
        for k in "ab": write_image(np.full((16, 16, 3), 100, np.uint8), tmp_path / f"{k}.png")
        args, want = (tmp_path / "a.png", tmp_path / "b.png", "-o", o, "--guide", "zero"), "16x16"
    elif case == "one_frame": args, want = (vd / "one.mp4", "-o", tmp_path / "o.mp4", "--method", "average"), "only 1 frame"
    elif case == "bad_t": args, want = (A, B, "-o", o, "--t", "1.5", "--method", "average"), "between 0 and 1"
    elif case == "factor_on_images": args, want = (A, B, "-o", o, "--factor", "2"), "--factor is for a video"
    elif case == "n_on_video": args, want = (vd / "clip.mp4", "-o", tmp_path / "o.mp4", "--n", "2"), "for a video use --factor"
    else: args, want = (A, B, A, "-o", o), "got 3 inputs"
    rc, out, err = run_main("interpolate", *args)
    assert rc == 2, (out, err)
    assert want in one_error_line(err)
    assert not o.exists() and not (tmp_path / "o.mp4").exists()

@pytest.mark.parametrize("flag,attr,bad,other", [("--rfr-scale", "rfr_scale", "2", "dis"), ("--scale", "scale", "0", "average")])
def test_fast_mode_options(frames, tmp_path, flag, attr, bad, other):
    """--rfr-scale 0.5 (RFR at half size) and --scale 0.5 (the whole network at half size) run the model's fast modes;
    out-of-range values and other methods are one-line user errors."""
    from synthlab.anime.cli import load_interpolator
    (d, T), o = frames, tmp_path / "fast.png"
    rc, out, err = run_main("interpolate", d / "A.png", d / "B.png", "-o", o, flag, "0.5", "--guide", "zero")
    assert rc == 0, err
    assert read_image(o).shape == T.frame1.shape
    with warnings.catch_warnings(record=True):
        assert getattr(load_interpolator(guide="zero", **{attr: 0.5}).model, attr) == 0.5
        assert getattr(load_interpolator(guide="zero").model, attr) == 1.0        # off by default
    for args, want in (((flag, bad), "(0, 1]"), ((flag, "0.5", "--method", other), f"{flag} only applies")):
        rc, out, err = run_main("interpolate", d / "A.png", d / "B.png", "-o", tmp_path / "x.png", *args)
        assert rc == 2 and want in one_error_line(err), err
        assert not (tmp_path / "x.png").exists()

def _official_state(prefix="module."):
    from synthlab.anime.model import anime_interp
    torch.manual_seed(0)
    return {"model_state_dict": {prefix + k: v for k, v in anime_interp("official").state_dict().items()}}

def test_checkpoint_of_another_model_is_one_line(frames, tmp_path):
    d, _ = frames
    from synthlab.hub import TinyNet
    torch.save({"model_state_dict": {f"module.{k}": v for k, v in TinyNet().state_dict().items()}}, tmp_path / "tiny.ckpt")
    rc, _, err = run_main("interpolate", d / "A.png", d / "B.png", "-o", tmp_path / "o.png", "--checkpoint", tmp_path / "tiny.ckpt")
    assert rc == 2
    line = one_error_line(err)
    assert "does not fit AnimeInterp" in line and "missing" in line and "unexpected" in line and "--verbose" in line
    rc, _, err = run_main("interpolate", d / "A.png", d / "B.png", "-o", tmp_path / "o.png", "--checkpoint", tmp_path / "tiny.ckpt", "-v")
    assert rc == 2 and "missing from the checkpoint" in err and "flownet" in err     # --verbose prints the key diff
    (tmp_path / "junk.ckpt").write_bytes(b"garbage")
    rc, _, err = run_main("interpolate", d / "A.png", d / "B.png", "-o", tmp_path / "o.png", "--checkpoint", tmp_path / "junk.ckpt")
    assert rc == 2 and "junk.ckpt" in one_error_line(err)
    assert not (tmp_path / "o.png").exists()

def test_official_checkpoint_layout_loads_and_runs(frames, tmp_path):
    "An official-layout checkpoint (`model_state_dict`, `module.` keys) is accepted; the model runs at its minimum size."
    from synthlab.anime.cli import load_interpolator, AnimeInterpolator
    torch.save(_official_state(), tmp_path / "anime_interp_full.ckpt")
    it = load_interpolator(checkpoint=tmp_path / "anime_interp_full.ckpt", guide="zero")
    assert isinstance(it, AnimeInterpolator) and "anime_interp_full.ckpt" in it.name
    a = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    out = it(a, a[:, ::-1].copy(), 0.5)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8

def test_guided_interpolator_uses_given_flows():
    "Flows passed in (ATD-12K's precomputed SGM flows) are used instead of computing a guide."
    from synthlab.anime.cli import AnimeInterpolator
    class Spy(torch.nn.Module):
        def __init__(self): super().__init__(); self.w = torch.nn.Parameter(torch.zeros(1)); self.seen = []
        def forward(self, I1, I3, F13, F31, t): self.seen.append(F13); return (1 - t) * I1 + t * I3
    spy = Spy()
    it = AnimeInterpolator(spy, guide="sgm")
    I1, I3 = torch.rand(1, 3, 40, 48), torch.rand(1, 3, 40, 48)
    F = torch.full((1, 2, 40, 48), 3.0)
    out = it.batch(I1, I3, 0.5, F, -F)
    assert torch.allclose(out, 0.5 * (I1 + I3)) and torch.equal(spy.seen[-1], F)
    it.batch(I1, I3, 0.5)                                            # no flows: SGM computes them (any tensor, right shape)
    assert spy.seen[-1].shape == (1, 2, 40, 48)
    with pytest.raises(ValueError, match="guide must be one of"): AnimeInterpolator(spy, guide="raft")

def test_help_lists_the_verb(capsys):
    from synthlab.cli import main
    with pytest.raises(SystemExit) as e: main(["--help"])
    assert e.value.code == 0 and "interpolate" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e: main(["interpolate", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0 and all(w in out for w in ["--factor", "--checkpoint", "--method", "--guide", "--force", "examples:"])
