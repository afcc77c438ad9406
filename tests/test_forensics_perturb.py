"Tests for synthlab.forensics.perturb: albumentations 2.0.8 perturbations at five severities."
import io, pickle, warnings
import numpy as np
import cv2
import pytest
from PIL import Image
import albumentations as A
from synthlab.core import InputError, ShapeError
from synthlab.forensics.perturb import (PERTURBATIONS, SEVERITY_PARAMS, RANDOM_PERTURBATIONS, FixedChannelShuffle, SizedCLAHE, perturb,
    Perturber, RandomPerturber, random_perturber, severity_grid)
from synthlab.talk.data import identity_for, render_face

NAMES = list(PERTURBATIONS)
EXPECTED = {"brightness", "contrast", "gamma", "clahe", "jpeg", "glass_blur", "channel_shuffle", "noise", "blur", "downscale"}
PERMS = [(0, 2, 1), (1, 0, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)]

@pytest.fixture(scope="module")
def face():
    img, _ = render_face(identity_for(0), size=96)
    assert img.dtype == np.uint8 and img.shape == (96, 96, 3)
    return img

def _mad(a, b): return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean())

def test_names():
    assert set(PERTURBATIONS) == EXPECTED and set(SEVERITY_PARAMS) == EXPECTED
    assert all(len(v) == 5 for v in SEVERITY_PARAMS.values())
    assert set(RANDOM_PERTURBATIONS) <= EXPECTED

@pytest.mark.parametrize("name", NAMES)
def test_every_severity_builds_and_runs_without_warnings(face, name):
    "albumentations 2.x only *warns* about invalid (old) argument names and then runs with defaults: make that fail."
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for s in range(1, 6):
            t = PERTURBATIONS[name](s)
            assert isinstance(t, A.BasicTransform) and t.p == 1
            out = A.Compose([t], seed=0)(image=face)["image"]
            assert out.dtype == np.uint8 and out.shape == face.shape
            out = perturb(face, name, s, seed=s)
            assert out.dtype == np.uint8 and out.shape == face.shape and out.flags.c_contiguous
            assert (out != face).any(), f"{name} severity {s} did nothing"

def test_parameters_reach_albumentations():
    "The 2.x argument names are the ones albumentations stores (a misspelt one would be dropped with defaults)."
    assert PERTURBATIONS["jpeg"](1).quality_range == (90, 90) and PERTURBATIONS["jpeg"](5).quality_range == (10, 10)
    assert PERTURBATIONS["noise"](5).std_range == (0.12, 0.12)
    assert PERTURBATIONS["downscale"](2).scale_range == (0.5, 0.5)
    assert PERTURBATIONS["gamma"](1).gamma_limit == (125, 125)
    assert PERTURBATIONS["blur"](5).sigma_limit == (3.0, 3.0) and PERTURBATIONS["blur"](5).blur_limit == (13, 13)
    assert PERTURBATIONS["clahe"](3).clip_limit == (4.0, 4.0)
    g = PERTURBATIONS["glass_blur"](5); assert (g.sigma, g.max_delta, g.iterations) == (1.5, 4, 2)
    assert PERTURBATIONS["brightness"](2).brightness_limit == (0.16, 0.16) and PERTURBATIONS["brightness"](2).contrast_limit == (0, 0)

@pytest.mark.parametrize("name", NAMES)
def test_severity_zero_is_identity(face, name):
    out = perturb(face, name, 0, seed=3)
    assert np.array_equal(out, face) and out is not face
    assert np.array_equal(Perturber(name, 0)(face), face)

@pytest.mark.parametrize("name", NAMES)
def test_seeded_reproducibility(face, name):
    for s in (1, 5):
        a, b = perturb(face, name, s, seed=7), perturb(face, name, s, seed=7)
        assert a.tobytes() == b.tobytes()
        c = perturb(face, name, s, seed=8)
        if name in RANDOM_PERTURBATIONS: assert a.tobytes() != c.tobytes()
        else: assert a.tobytes() == c.tobytes()  # deterministic perturbations ignore the seed
    np.random.seed(0); x = perturb(face, name, 3, seed=1)
    np.random.seed(1); assert np.array_equal(perturb(face, name, 3, seed=1), x)  # global numpy seed plays no part

@pytest.mark.parametrize("name", [n for n in NAMES if n != "channel_shuffle"])
def test_severity_is_monotonic(face, name):
    "Damage (mean abs change) increases and PSNR to the original decreases strictly with the severity."
    d = [_mad(perturb(face, name, s, seed=0), face) for s in range(1, 6)]
    assert all(np.diff(d) > 0), (name, d)
    mse = [np.mean((perturb(face, name, s, seed=0).astype(float) - face) ** 2) for s in range(1, 6)]
    psnr = 10 * np.log10(255 ** 2 / np.array(mse))
    assert all(np.diff(psnr) < 0), (name, psnr)

def test_known_values(face):
    "Hand-computable perturbations against their formulas."
    f = face.astype(np.float64)
    # brightness s=2: + 0.16 * 255, clipped
    np.testing.assert_allclose(perturb(face, "brightness", 2), np.clip(f + 0.16 * 255, 0, 255), atol=1)
    # contrast s=2: around the mean, gain 0.7: out = 0.7 * x + 0.3 * mean(x)
    np.testing.assert_allclose(perturb(face, "contrast", 2), np.clip(0.7 * f + 0.3 * f.mean(), 0, 255), atol=1)
    # gamma s=4: 200 % -> (x/255)^2 * 255
    np.testing.assert_allclose(perturb(face, "gamma", 4), 255 * (f / 255) ** 2.0, atol=1)
    # jpeg s=3 equals PIL at quality 50 up to codec differences; quality goes down with severity
    ok, enc = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 50])  # albumentations encodes with OpenCV
    assert np.array_equal(perturb(face, "jpeg", 3), cv2.imdecode(enc, cv2.IMREAD_UNCHANGED))
    buf = io.BytesIO(); Image.fromarray(face).save(buf, format="JPEG", quality=50)  # PIL at q50 is close, q90 is not as far off
    assert _mad(perturb(face, "jpeg", 3), np.asarray(Image.open(buf))) < _mad(perturb(face, "jpeg", 1), np.asarray(Image.open(buf)))
    assert [PERTURBATIONS["jpeg"](s).quality_range[0] for s in range(1, 6)] == [90, 70, 50, 30, 10]
    # noise s=5: std 0.12 * 255 ~ 30.6 where nothing clips
    d = perturb(face, "noise", 5, seed=0).astype(float) - f
    mid = (face > 60).all(2) & (face < 195).all(2)
    assert abs(d[mid].std() - 0.12 * 255) < 2.5 and abs(d[mid].mean()) < 1.5
    # blur keeps the mean, downscale keeps the size
    assert abs(perturb(face, "blur", 5).mean() - face.mean()) < 1.5
    assert perturb(face[:80, :64], "downscale", 5).shape == (80, 64, 3)

def test_channel_shuffle_never_identity(face):
    assert all(p != (0, 1, 2) for p in SEVERITY_PARAMS["channel_shuffle"]) and sorted(SEVERITY_PARAMS["channel_shuffle"]) == sorted(PERMS)
    for s in range(1, 6):
        order = SEVERITY_PARAMS["channel_shuffle"][s - 1]
        for seed in range(6):  # fixed permutation: the seed never changes it
            out = perturb(face, "channel_shuffle", s, seed=seed)
            assert np.array_equal(out, face[..., list(order)]) and not np.array_equal(out, face)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert FixedChannelShuffle(order=(2, 0, 1)).order == (2, 0, 1)

@pytest.mark.parametrize("bad,err,msg", [
    (lambda f: f.astype(np.float32) / 255, InputError, r"uint8 image, got dtype float32"),
    (lambda f: f.astype(np.uint16), InputError, "dtype uint16"),
    (lambda f: f[..., 0], ShapeError, "grayscale"),
    (lambda f: f[..., :1], ShapeError, "grayscale"),
    (lambda f: np.concatenate([f, f[..., :1]], 2), ShapeError, "RGBA"),
    (lambda f: np.concatenate([f, f], 2), ShapeError, "shape"),
    (lambda f: f[:8, :8], ShapeError, "too small"),
    (lambda f: f.tolist(), InputError, "got list"),
])
def test_bad_images(face, bad, err, msg):
    x = bad(face)
    with pytest.raises(err, match=msg): perturb(x, "jpeg", 2)
    with pytest.raises(err, match=msg): Perturber("noise", 2)(x)
    with pytest.raises(err, match=msg): random_perturber(p=1.0)(x)

def test_torch_tensor_rejected(face):
    import torch
    with pytest.raises(InputError, match="tensor2img"): perturb(torch.zeros(3, 32, 32), "jpeg", 1)

def test_bad_arguments(face):
    with pytest.raises(InputError, match="unknown perturbation 'jpg'"): perturb(face, "jpg", 1)
    for s in (6, -1, 2.0, True, None):
        with pytest.raises(InputError, match="severity"): perturb(face, "jpeg", s)
    with pytest.raises(InputError, match="1..5"): PERTURBATIONS["jpeg"](0)
    with pytest.raises(InputError, match="seed"): perturb(face, "noise", 1, seed=-1)
    with pytest.raises(InputError, match="unknown perturbation"): Perturber("gauss", 1)
    with pytest.raises(InputError, match="probability"): random_perturber(p=1.5)
    with pytest.raises(InputError, match="unknown perturbation"): random_perturber(names=["nope"])

def test_perturber(face):
    pn = Perturber("noise", 3, seed=4)
    a = pn(face)
    assert np.array_equal(pn(face), a)                                   # per-image deterministic: call order does not matter
    assert not np.array_equal(Perturber("noise", 3, seed=5)(face), a)
    other = np.ascontiguousarray(face[::-1])
    assert not np.array_equal(pn(other)[::-1], a)                        # a different image gets different noise
    pj = Perturber("jpeg", 4)
    assert np.array_equal(pj(face), perturb(face, "jpeg", 4))
    assert repr(pn) == "Perturber('noise', severity=3, seed=4)"

@pytest.mark.parametrize("name", NAMES)
def test_perturber_pickles(face, name):
    p = Perturber(name, 5, seed=2)
    p(face)  # builds and caches the transform; the cache must not break pickling
    q = pickle.loads(pickle.dumps(p))
    assert np.array_equal(q(face), p(face))

def test_random_perturber(face):
    rp = random_perturber(p=0.5, seed=1)
    outs = [rp(face) for _ in range(40)]
    same = sum(np.array_equal(o, face) for o in outs)
    assert 8 <= same <= 32                                               # about half untouched
    rq = pickle.loads(pickle.dumps(random_perturber(p=0.5, seed=1)))
    assert all(np.array_equal(o, rq(face)) for o in outs)                # same seed, same sequence, survives pickling
    assert all(np.array_equal(random_perturber(p=0.0)(face), face) for _ in range(5))
    r1 = random_perturber(p=1.0, seed=0, names=["jpeg"], severities=[5])
    assert np.array_equal(r1(face), perturb(face, "jpeg", 5))
    assert isinstance(r1, RandomPerturber)

def test_random_perturber_in_dataloader_workers(face):
    "Picklable for DataLoader workers, and workers do not repeat each other."
    import torch
    class DS(torch.utils.data.Dataset):
        def __init__(self, f): self.f, self.t = f, random_perturber(p=1.0, seed=0, names=["noise"], severities=[2])
        def __len__(self): return 4
        def __getitem__(self, i): return torch.from_numpy(self.t(self.f).astype(np.int16))
    g = torch.Generator().manual_seed(0)
    batches = list(torch.utils.data.DataLoader(DS(face), batch_size=1, num_workers=2, generator=g, multiprocessing_context="fork"))
    assert not torch.equal(batches[0], batches[1])  # items 0 and 1 come from different workers

def test_severity_grid(face):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig = severity_grid(face, names=["jpeg", "noise"], severities=range(3))
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "original" and fig.axes[1].get_title().endswith("dB")
    plt.close(fig)
    fig = severity_grid(face, names="blur"); assert len(fig.axes) == 6; plt.close(fig)
    with pytest.raises(InputError, match="unknown perturbation"): severity_grid(face, names=["x"])

def test_sized_clahe(face):
    "Same as A.CLAHE with 8x8 tiles from 128 px up; fewer tiles on small images keep the severities ordered."
    big, _ = render_face(identity_for(3), size=128)
    for c in (1.5, 6.0):
        a = A.Compose([A.CLAHE(clip_limit=(c, c), tile_grid_size=(8, 8), p=1)])(image=big)["image"]
        assert np.array_equal(SizedCLAHE(clip_limit=(c, c), p=1)(image=big)["image"], a)
    for size in (64, 96):
        img, _ = render_face(identity_for(1), size=size)
        d = [_mad(perturb(img, "clahe", s), img) for s in range(1, 6)]
        assert all(np.diff(d) > 0), (size, d)
