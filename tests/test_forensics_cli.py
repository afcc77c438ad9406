"""`synthlab detect` end to end (the console script's `main`, in-process) and every bad-input path: exit status 2 and
one line on stderr naming the file. The detector is an untrained small Detector (seeded) saved as a preset card in a
temporary folder and passed with `--detector CARD.json`, so nothing depends on the shipped `detect-small` preset
(`test_default_preset` checks the default either way)."""
import contextlib, io, json, subprocess, sys, warnings
from pathlib import Path
import numpy as np
import pytest
import torch
import cv2

from synthlab import hub
from synthlab.io import write_image, write_video
from synthlab.forensics.detectors import build_detector
from synthlab.forensics.widgets import bundled_samples
from synthlab.forensics.faces import detect_faces, crop_face
from synthlab.forensics.cli import kind_of, read_picture, report_paths, detect_image, score_faces

BIN = Path(sys.executable).parent / "synthlab"

def run_main(*argv):
    from synthlab.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()

def one_error_line(err: str) -> str:
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, f"expected one error line, got:\n{err}"
    assert "Traceback" not in err and lines[0].startswith("synthlab detect: error:"), err
    return lines[0]

@pytest.fixture(scope="module", autouse=True)
def _threads():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("detect")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        hub.save_weights(build_detector("small"), "det-test", "synthlab.forensics.detectors:build_detector", {"arch": "small"}, folder=d)
    s = bundled_samples(128)
    face = np.pad(s[1].image, ((40, 40), (60, 60), (0, 0)), mode="edge")        # a fake head with room around it
    write_image(face, d / "face.png")
    write_image(s[0].image, d / "real.jpg")
    write_image(cv2.cvtColor(face, cv2.COLOR_RGB2GRAY), d / "gray.png")
    write_image(np.dstack([face, np.full(face.shape[:2], 255, np.uint8)]), d / "rgba.png")
    write_image(cv2.resize(face, (face.shape[1] * 8, face.shape[0] * 8), interpolation=cv2.INTER_LINEAR), d / "huge.jpg")
    write_image(np.full((100, 140, 3), 128, np.uint8), d / "flat.png")
    (d / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00garbage" * 20)
    (d / "empty.png").write_bytes(b"")
    frames = np.stack([np.pad(x.image, ((16, 16), (16, 16), (0, 0)), mode="edge") for x in s[:2] * 4])
    write_video(frames, d / "clip.mp4", fps=10)
    import av
    c = av.open(str(d / "silent.mp4"), "w"); st = c.add_stream("aac", rate=16000); st.layout = "mono"
    fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono"); fr.sample_rate = 16000
    for p in st.encode(fr): c.mux(p)
    for p in st.encode(None): c.mux(p)
    c.close()
    (d / "junk.pt").write_bytes(b"this is not a checkpoint")
    torch.save(hub.TinyNet().state_dict(), d / "tiny.pt")
    return d

def D(files): return ("--detector", files / "det-test.json", "--no-progress")

# ---- pieces ---------------------------------------------------------------------------------------------------
def test_kind_and_report_paths():
    assert kind_of("x.PNG") == "image" and kind_of("y.webm") == "video"
    assert report_paths("r.png", ["a.jpg"]) == [Path("r.png")]
    assert report_paths("out/r.png", ["x/a.jpg", "b.mp4"]) == [Path("out/r_a.png"), Path("out/r_b.png")]
    assert report_paths(None, ["a", "b"]) == [None, None]

def test_score_faces_matches_model(files):
    m = hub.load("det-test", folder=files)
    img = bundled_samples(128)[1].image
    f = score_faces(m, img, [(0, 0, 128, 128)], whole=True)[0]
    with torch.no_grad(): p = m(torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255)["bin"].softmax(1)[0, 1].item()
    assert f.p_fake == pytest.approx(p, abs=1e-5)                      # whole image at 128: exactly the model's P(fake)
    assert f.p_tri.sum() == pytest.approx(1, abs=1e-5) and f.p_cls.shape == (16,)

def test_faces_come_from_the_faces_module(files):
    "Boxes are forensics.faces.detect_faces' and the scored crop is forensics.faces.crop_face's (margin 0.3, detector size)."
    m = hub.load("det-test", folder=files)
    img, notes = read_picture(files / "face.png")
    assert notes == []
    r = detect_image(m, files / "face.png")
    b = detect_faces(img)[0]
    f = r["faces"][0]
    assert f.box == (b.x0, b.y0, b.x1, b.y1) and f.detected == 1.0
    np.testing.assert_array_equal(f.crop, crop_face(img, b, 128, 0.3)[0])

# ---- the verb ---------------------------------------------------------------------------------------------------
def test_json_one_image(files):
    rc, out, err = run_main("detect", files / "face.png", "--json", *D(files))
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["size"] == 128 and len(doc["files"]) == 1
    f = doc["files"][0]
    assert f["kind"] == "image" and (f["width"], f["height"]) == (248, 208)
    face = f["faces"][0]
    x0, y0, x1, y1 = face["box"]
    assert 40 <= (x0 + x1) / 2 <= 210 and 20 <= (y0 + y1) / 2 <= 190 and face["face_detected"]   # the head, in pixels
    assert set(face["p_tri"]) == {"real", "ID-remained", "ID-replaced"} and len(face["p_cls"]) == 16
    assert sum(face["p_cls"].values()) == pytest.approx(1, abs=1e-3) and face["label"] in ("real", "fake")

def test_text_many_files_with_reports_and_saliency(files, tmp_path):
    rc, out, err = run_main("detect", files / "face.png", files / "real.jpg", "--whole-image", "--saliency", "gradcam",
                            "-o", tmp_path / "rep.png", "--detector", files / "det-test.json")
    assert rc == 0, err
    lines = out.splitlines()
    assert sum("P(fake)" in l for l in lines) == 2 and all("Grad-CAM" in l for l in lines if "P(fake)" in l)
    for stem in ("face", "real"): assert (tmp_path / f"rep_{stem}.png").read_bytes()[:4] == b"\x89PNG"
    assert "detect" in err                                               # the progress bar (stderr) for several files

def test_grayscale_rgba_huge(files):
    rc, out, err = run_main("detect", files / "face.png", files / "gray.png", files / "rgba.png", files / "huge.jpg", "--json", *D(files))
    assert rc == 0, err
    doc = json.loads(out)["files"]
    assert "grayscale: repeated to RGB" in doc[1]["notes"] and "RGBA: composited on white" in doc[2]["notes"]
    b0, b3 = np.array(doc[0]["faces"][0]["box"]), np.array(doc[3]["faces"][0]["box"])
    assert (doc[3]["width"], doc[3]["height"]) == (248 * 8, 208 * 8)
    assert np.abs(b3 / 8 - b0).max() < 10, (b0, b3)                      # huge: searched downscaled, boxes in original pixels
    assert any("searched at 1024 px" in n for n in doc[3]["notes"])
    assert doc[2]["faces"][0]["p_fake"] == pytest.approx(doc[0]["faces"][0]["p_fake"], abs=1e-6)   # opaque RGBA = RGB

def test_video(files, tmp_path):
    rc, out, err = run_main("detect", files / "clip.mp4", "--json", "--frames", "6", "-o", tmp_path / "v.png", *D(files))
    assert rc == 0, err
    v = json.loads(out)["files"][0]
    assert v["kind"] == "video" and v["n_frames"] == 8 and len(v["frames"]) == 6
    assert all(fr["p_fake"] is None or 0 <= fr["p_fake"] <= 1 for fr in v["frames"]) and 0 <= v["p_fake"] <= 1
    assert isinstance(v["segments"], list) and (tmp_path / "v.png").exists()
    rc, out, err = run_main("detect", files / "clip.mp4", "--frames", "3", *D(files))
    assert rc == 0 and "video, 8 frames" in out

# ---- bad input: exit 2, one line naming the file -----------------------------------------------------------------
@pytest.mark.parametrize("name, words", [
    ("missing.png", ["missing.png", "does not exist"]),
    ("corrupt.jpg", ["corrupt.jpg"]),
    ("empty.png", ["empty.png", "empty"]),
    ("flat.png", ["no face found in", "flat.png", "--whole-image"]),
    ("silent.mp4", ["silent.mp4", "no video frames"]),
    ("notes.txt", ["notes.txt", "cannot tell a picture from a video"]),
])
def test_bad_inputs(files, name, words):
    if name == "notes.txt": (files / name).write_text("hi")
    rc, out, err = run_main("detect", files / name, *D(files))
    line = one_error_line(err)
    assert rc == 2 and out == ""
    for w in words: assert w in line, line

def test_output_exists_needs_force(files, tmp_path):
    (tmp_path / "r.png").write_bytes(b"old")
    rc, out, err = run_main("detect", files / "real.jpg", "--whole-image", "-o", tmp_path / "r.png", *D(files))
    line = one_error_line(err)
    assert rc == 2 and "already exists" in line and "--force" in line and (tmp_path / "r.png").read_bytes() == b"old"
    rc, out, err = run_main("detect", files / "real.jpg", "--whole-image", "-o", tmp_path / "r.png", "--force", *D(files))
    assert rc == 0 and (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
    rc, out, err = run_main("detect", files / "real.jpg", "-o", tmp_path / "r.gif", *D(files))
    assert rc == 2 and "r.gif" in one_error_line(err)

@pytest.mark.parametrize("ckpt, words", [("junk.pt", ["junk.pt"]), ("tiny.pt", ["tiny.pt", "not a checkpoint of synthlab's small forgery detector"]),
                                         ("nope.pt", ["nope.pt", "does not exist"])])
def test_wrong_checkpoint(files, ckpt, words):
    rc, out, err = run_main("detect", files / "real.jpg", "--whole-image", "--detector", files / ckpt, "--no-progress")
    line = one_error_line(err)
    assert rc == 2
    for w in words: assert w in line, line

def test_bad_options(files):
    rc, out, err = run_main("detect", files / "real.jpg", "--frames", "0", *D(files))
    assert rc == 2 and "--frames" in one_error_line(err)

def test_default_preset(files):
    rc, out, err = run_main("detect", files / "real.jpg", "--whole-image", "--no-progress")
    if "detect-small" in hub.list_presets().names: assert rc == 0 and "P(fake)" in out
    else: assert rc == 2 and "synthlab train detect" in one_error_line(err)

@pytest.mark.skipif(not BIN.exists(), reason="console script not installed")
def test_console_script(files):
    r = subprocess.run([str(BIN), "detect", str(files / "real.jpg"), "--whole-image", "--json", *map(str, D(files))],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["files"][0]["faces"][0]["face_detected"] is False
