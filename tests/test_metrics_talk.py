"Tests for the talking-face metrics in synthlab.metrics: CPBD sharpness and mouth landmark distance (LMD)."
import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from synthlab.core import ShapeError, InputError
from synthlab.metrics import cpbd, lmd

torch.set_num_threads(1)
FRAME = "pcavs_demo/Mouth_Source/681600002/000100.jpg"


def stripes(profile, period=16, size=128):
    "Vertical stripes: each period rises along `profile`, holds, and falls back along the reversed profile."
    row = np.zeros(period); row[:len(profile)] = profile; row[len(profile):period - len(profile)] = profile[-1]
    row[period - len(profile):] = profile[::-1]
    return np.tile(np.tile(row, size // period), (size, 1)).astype(np.uint8)


def load_demo(shared_data, mode="L"):
    from PIL import Image
    return np.asarray(Image.open(shared_data / FRAME).convert(mode))


# ---------------------------------------------------------------- CPBD
def test_cpbd_demo_frame_matches_notes(shared_data):
    g = load_demo(shared_data)
    assert abs(cpbd(g) - 0.1725) < 1e-4                                          # NOTES §7 (cpbd 1.0.7)
    assert abs(cpbd(load_demo(shared_data, "RGB")) - 0.1725) < 1e-4             # RGB -> PIL 'L' inside
    blurred = gaussian_filter(g.astype(np.float64), 2)
    assert abs(cpbd(blurred / 255, quantize=False) - 0.0025) < 2e-4             # NOTES: 0.0025 after sigma=2
    assert cpbd(blurred / 255) < 0.02                                           # 8-bit rounded blur: still very low


def test_cpbd_blur_lowers_score(shared_data):
    g = load_demo(shared_data).astype(np.float64)
    v = [cpbd(gaussian_filter(g, s) / 255, quantize=False) if s else cpbd(g / 255, quantize=False) for s in (0, 1, 2, 3)]
    assert v[0] > v[1] > v[2] >= v[3]


def test_cpbd_known_values_stripes():
    # edge 0,0,100,200: Marziliano width 2 <= w_JNB (3 at contrast 200) -> every edge sharp
    assert cpbd(stripes([0, 0, 100, 200])) == 1.0
    # edge 0,0,20,100,180,200: width 4 > 3 -> every edge blurred at high contrast ...
    assert cpbd(stripes([0, 0, 20, 100, 180, 200])) == 0.0
    # ... but sharp at contrast 40 (<= 50 -> w_JNB = 5)
    assert cpbd((stripes([0, 0, 20, 100, 180, 200]) * 0.2).astype(np.uint8)) == 1.0
    # mixed: half the image (two 64-wide block columns) sharp stripes, half soft -> half the edges sharp
    mixed = np.concatenate([stripes([0, 0, 100, 200], size=128)[:, :64], stripes([0, 0, 20, 100, 180, 200], size=128)[:, :64]], 1)
    assert cpbd(mixed) == pytest.approx(0.5, abs=0.02)


def test_cpbd_constant_and_edge_cases():
    assert cpbd(np.full((128, 128), 77, np.uint8)) == 0.0                      # no edge block -> defined as 0.0
    assert cpbd(np.zeros((64, 64, 3), np.uint8)) == 0.0
    x = np.arange(256, dtype=np.float64)
    assert cpbd(np.tile(x, (96, 1)).astype(np.uint8)) == 0.0                   # a smooth ramp has no edges
    noise = np.random.default_rng(0).integers(0, 256, (128, 128), dtype=np.uint8)
    v = cpbd(noise)
    assert 0.5 < v <= 1                                                         # white noise: mostly 1-2 px "edges"


def test_cpbd_input_types_and_batches():
    img = stripes([0, 0, 100, 200], size=128)
    rgb = np.repeat(img[..., None], 3, 2)
    t = torch.from_numpy(rgb).permute(2, 0, 1).float() / 255
    assert cpbd(rgb) == cpbd(img) == cpbd(t) == cpbd(t[:1]) == 1.0
    soft = np.repeat(stripes([0, 0, 20, 100, 180, 200])[..., None], 3, 2)
    batch = torch.from_numpy(np.stack([rgb, soft])).permute(0, 3, 1, 2).float() / 255
    np.testing.assert_array_equal(cpbd(batch, reduction="none"), [1.0, 0.0])
    assert cpbd(batch) == 0.5 and cpbd([rgb, soft]) == 0.5 and cpbd(np.stack([rgb, soft])) == 0.5


def test_cpbd_errors():
    with pytest.raises(ShapeError, match="64x64 blocks"): cpbd(np.zeros((40, 300), np.uint8))
    with pytest.raises(ShapeError, match=r"\(H, W, 3\)"): cpbd(np.zeros((128, 128, 4), np.uint8))
    with pytest.raises(InputError, match=r"\[0, 1\]"): cpbd(np.full((128, 128), 2.0))
    with pytest.raises(InputError, match="uint8 or float"): cpbd(np.zeros((128, 128), np.int32))
    with pytest.raises(InputError, match="empty"): cpbd([])
    with pytest.raises(InputError, match="reduction"): cpbd(np.zeros((128, 128), np.uint8), reduction="sum")


# ---------------------------------------------------------------- LMD
@pytest.fixture
def marks():
    return np.random.default_rng(0).uniform(0, 224, (5, 68, 2))


def test_lmd_known_values(marks):
    assert lmd(marks, marks) == 0.0
    p = marks.copy(); p[:, 48:68] += (3, 4)                                    # 3-4-5 triangle
    assert lmd(p, marks) == pytest.approx(5.0, abs=1e-12)
    p[:, :48] += 100                                                            # non-mouth points do not count
    assert lmd(p, marks) == pytest.approx(5.0, abs=1e-12)
    q = marks.copy(); q[0, 48:58] += (6, 8)                                     # half the mouth points of frame 0 move by 10
    np.testing.assert_allclose(lmd(q, marks, reduction="none"), [5, 0, 0, 0, 0], atol=1e-12)
    assert lmd(q, marks) == pytest.approx(1.0, abs=1e-12)                       # averaged over 5 frames
    assert lmd(p, marks, idx=range(0, 48)) == pytest.approx(100 * np.sqrt(2), abs=1e-9)
    assert lmd(p, marks) == lmd(marks, p)                                       # symmetric in pred and gt


def test_lmd_inputs(marks):
    p = marks + 1.0
    assert lmd(p[0], marks[0]) == pytest.approx(np.sqrt(2))                     # one (68, 2) frame
    assert lmd(torch.tensor(p), torch.tensor(marks)) == pytest.approx(np.sqrt(2))
    assert lmd(p.tolist(), marks.tolist()) == pytest.approx(np.sqrt(2))
    assert lmd(p[:, :, :], marks, idx=[48]) == pytest.approx(np.sqrt(2))


def test_lmd_missing_frames(marks):
    p = marks.copy(); p[:, 48:68] += (3, 4); p[2] = np.nan
    with pytest.raises(InputError, match="1 of 5 frames have NaN"): lmd(p, marks)
    assert lmd(p, marks, missing="skip") == pytest.approx(5.0)
    assert lmd(p, marks, missing="skip", reduction="none").shape == (4,)
    with pytest.raises(InputError, match="every frame"): lmd(np.full_like(marks, np.nan), marks, missing="skip")
    with pytest.raises(InputError, match="missing must be"): lmd(marks, marks, missing="drop")


def test_lmd_shape_errors(marks):
    with pytest.raises(ShapeError, match=r"pred_landmarks must be \(T, 68, 2\).*\(5, 60, 2\)"): lmd(marks[:, :60], marks)
    with pytest.raises(ShapeError, match=r"gt_landmarks must be \(T, 68, 2\).*\(5, 68, 3\)"): lmd(marks, np.zeros((5, 68, 3)))
    with pytest.raises(ShapeError, match="same shape"): lmd(marks, marks[:4])
    with pytest.raises(ShapeError, match="pred_landmarks"): lmd(np.zeros((2, 3, 68, 2)), np.zeros((2, 3, 68, 2)))
    with pytest.raises(InputError, match="T = 0"): lmd(np.zeros((0, 68, 2)), np.zeros((0, 68, 2)))
    with pytest.raises(InputError, match="idx"): lmd(marks, marks, idx=[])
