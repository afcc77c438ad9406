"""synthlab.forensics.widgets: Captum attributions (known values on linear models, invariants on the small detector),
mask agreement scores (hand-computed), detector loading errors, bundled samples, and the SaliencyExplorer widget."""
import io, math, time, warnings, datetime
import numpy as np
import pytest
import torch
from torch import nn
from PIL import Image

from synthlab import hub
from synthlab.core import CheckpointError, MissingFileError, InputError, ShapeError
from synthlab.forensics.detectors import build_detector
from synthlab.forensics.faces import find_faces, crop_face
from synthlab.forensics.forge import forgery_mask, synthetic_face, reenact, split_identities
from synthlab.forensics.schema import METHODS as FORGERY_METHODS, TRI_NAMES
from synthlab.forensics.widgets import (METHODS, Attribution, attribute, mask_agreement, binary_mask, overlay, normalize_map,
                                        load_detector, detector_size, bundled_samples, compare_real_fake,
                                        plot_attribution, figure_png, time_methods, prepare_image, SaliencyExplorer,
                                        occlusion_window, face_or_whole)

@pytest.fixture(scope="module", autouse=True)
def _threads():
    n = torch.get_num_threads(); torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

@pytest.fixture(scope="module")
def det():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build_detector("small", size=64).eval()

@pytest.fixture(scope="module")
def samples():
    return bundled_samples(64)

class Linear(nn.Module):
    "fake logit = <w, x>, real logit = -<w, x>: every attribution has a closed form."
    def __init__(self, w):
        super().__init__(); self.w = nn.Parameter(w); self.cfg = type("C", (), {"size": w.shape[-1]})()
    def forward(self, x):
        z = (x * self.w).sum((1, 2, 3))
        return dict(bin=torch.stack([-z, z], 1), tri=torch.zeros(len(x), 3), cls=torch.zeros(len(x), 16))

def lin(size=16, **pix):
    w = torch.zeros(1, 3, size, size)
    for (c, y, x), v in pix.items(): w[0, c, y, x] = v
    return Linear(w)

# ---- attribute ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
def test_attribute_smoke(det, samples, method):
    a = attribute(det, samples[1].image, method, n_steps=8, nt_samples=3)
    assert isinstance(a, Attribution) and a.method == method
    assert a.map.shape == (64, 64) and a.map.dtype == np.float32
    assert np.isfinite(a.map).all() and (a.map >= 0).all() and a.seconds > 0
    assert 0 <= a.p_fake <= 1 and a.image.shape == (64, 64, 3)

def test_saliency_known_values():
    m = Linear(torch.zeros(1, 3, 16, 16)); m.w.data[0, 1, 3, 5] = 2.0; m.w.data[0, 0, 10, 12] = -0.5; m.w.data[0, 2, 10, 12] = 0.25
    s = attribute(m, np.full((16, 16, 3), 128, np.uint8), "saliency").map
    assert s[3, 5] == pytest.approx(2.0) and s[10, 12] == pytest.approx(0.5)        # |grad|, max over channels
    assert (s > 0).sum() == 2
    s0 = attribute(m, np.full((16, 16, 3), 128, np.uint8), "saliency", target=0).map  # the real logit: same |gradient|
    np.testing.assert_allclose(s0, s)

def test_ig_linear_is_exact():
    m = Linear(torch.zeros(1, 3, 16, 16)); m.w.data[0, 1, 3, 5] = 2.0; m.w.data[0, 0, 3, 5] = -1.0
    img = np.zeros((16, 16, 3), np.uint8); img[3, 5] = (255, 51, 0)                  # x = (1, 0.2, 0) at that pixel
    a = attribute(m, img, "ig", n_steps=4).map
    assert a[3, 5] == pytest.approx(1.0 + 0.4, abs=1e-4)                            # |w*x| summed over channels
    assert a.sum() == pytest.approx(1.4, abs=1e-4)

def test_occlusion_finds_the_pixel():
    m = Linear(torch.zeros(1, 3, 32, 32)); m.w.data[0, :, 20, 8] = 1.0
    a = attribute(m, np.full((32, 32, 3), 200, np.uint8), "occlusion", window=4, stride=2).map
    ys, xs = np.nonzero(a)
    assert ys.min() >= 17 and ys.max() <= 23 and xs.min() >= 5 and xs.max() <= 11     # only windows covering (20, 8)
    mk = np.zeros((32, 32), np.uint8); mk[18:23, 6:11] = 255
    assert mask_agreement(a, mk)["pointing_game"] == 1.0
    assert occlusion_window(128) == (16, 8) and occlusion_window(16) == (4, 2)

def test_smoothgrad_without_noise_is_saliency(det, samples):
    s = attribute(det, samples[1].image, "saliency").map
    g = attribute(det, samples[1].image, "smoothgrad", stdevs=0.0, nt_samples=2).map
    np.testing.assert_allclose(g, s, rtol=1e-4, atol=1e-7)

def test_gradcam_on_detector_is_upsampled_and_relu(det, samples):
    a = attribute(det, samples[1].image, "gradcam")
    assert a.map.shape == (64, 64) and a.map.min() >= 0

def test_eval_mode_and_bn_stats_untouched(samples):
    torch.manual_seed(1)
    m = build_detector("small", size=64).train()
    bn = [x for x in m.modules() if isinstance(x, nn.BatchNorm2d)][0]
    before = bn.running_mean.clone()
    attribute(m, samples[1].image, "ig", n_steps=6)
    assert not m.training and torch.equal(bn.running_mean, before)     # IG did not update BatchNorm statistics

def test_ig_internal_batching_matches(det, samples):
    a = attribute(det, samples[2].image, "ig", n_steps=8).map
    b = attribute(det, samples[2].image, "ig", n_steps=8, internal_batch_size=3).map
    np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-6)

def test_ig_timing_loose(samples):
    torch.manual_seed(0)
    m = build_detector("small").eval()                               # the shipped size: 128 px
    a = attribute(m, bundled_samples(128)[1].image, "ig")             # 50 steps, one batch
    g = attribute(m, bundled_samples(128)[1].image, "gradcam")
    print(f"\nIG-50 {a.seconds:.2f} s, Grad-CAM {g.seconds:.3f} s at 128 px (1 thread)")
    assert a.seconds < 15 and g.seconds < 2                          # loose: the machine is shared

def test_attribute_errors(det, samples):
    img = samples[0].image
    with pytest.raises(InputError, match="unknown saliency method 'lime'"): attribute(det, img, "lime")
    with pytest.raises(InputError, match="target must be a class index 0..1"): attribute(det, img, target=2)
    with pytest.raises(InputError, match="target must be a class index 0..2"): attribute(det, img, head="tri", target=3)
    with pytest.raises(InputError, match="head must be one of"): attribute(det, img, head="mask")
    with pytest.raises(InputError, match="n_steps"): attribute(det, img, "ig", n_steps=1)
    with pytest.raises(InputError, match="no .cam_layer"): attribute(lin(), np.zeros((16, 16, 3), np.uint8), "gradcam")
    with pytest.raises(ShapeError, match="must be"): attribute(det, np.zeros((16, 16, 2), np.uint8))

def test_prepare_image_conversions():
    assert prepare_image(np.zeros((30, 50), np.uint8), 32).shape == (32, 32, 3)
    rgba = np.zeros((16, 16, 4), np.uint8); rgba[..., 1] = 100; rgba[:8, :, 3] = 255
    c = prepare_image(rgba, 16)                                               # faces.as_rgb: alpha dropped
    assert c[0, 0].tolist() == [0, 100, 0] and c[15, 0].tolist() == [0, 100, 0]
    assert prepare_image(np.full((8, 8), 0.5), 8).max() == 128                # floats in [0, 1] scaled
    big = np.zeros((256, 256, 3), np.uint8); big[:128] = 200                 # area averaging: top half stays 200
    assert prepare_image(big, 64)[:32].min() == 200 and prepare_image(big, 64)[32:].max() == 0

# ---- mask agreement -------------------------------------------------------------------------------------------
def test_mask_agreement_known_values():
    mk = np.zeros((10, 10), np.uint8); mk[:, :3] = 255                       # 30% of the picture manipulated
    assert mask_agreement(np.ones((10, 10)), mk)["energy_in_mask"] == pytest.approx(0.3)
    m = np.zeros((10, 10)); m[0, 0] = 3; m[9, 9] = 1                          # 3 of 4 units inside, peak inside
    r = mask_agreement(m, mk)
    assert r == dict(energy_in_mask=pytest.approx(0.75), pointing_game=1.0, mask_fraction=pytest.approx(0.3))
    m[9, 9] = 5
    assert mask_agreement(m, mk)["pointing_game"] == 0.0
    assert mask_agreement(-m, mk)["energy_in_mask"] == pytest.approx(3 / 8)   # signed maps count by magnitude
    # a 20x20 mask on a 10x10 map: resized first
    assert mask_agreement(np.ones((10, 10)), np.kron(mk, np.ones((2, 2), np.uint8)))["energy_in_mask"] == pytest.approx(0.3)

def test_mask_agreement_undefined_and_errors():
    mk = np.zeros((4, 4), np.uint8)
    assert math.isnan(mask_agreement(np.ones((4, 4)), mk)["energy_in_mask"])   # real: nothing to point at
    mk[0, 0] = 255
    assert math.isnan(mask_agreement(np.zeros((4, 4)), mk)["pointing_game"])   # empty map
    assert binary_mask(np.array([[25, 26]], np.uint8)).tolist() == [[False, True]]   # threshold 0.1 of 255
    assert binary_mask(np.array([[0.05, 0.5]])).tolist() == [[False, True]]
    with pytest.raises(ShapeError): mask_agreement(np.ones((2, 2, 2)), mk)
    with pytest.raises(ShapeError): binary_mask(np.ones((2, 2, 2, 2)))

# ---- pictures -------------------------------------------------------------------------------------------------
def test_overlay_and_figures(det, samples):
    img = samples[1].image
    assert (overlay(img, np.zeros((64, 64))) == img).all()
    ov = overlay(img, np.ones((8, 8)))
    assert ov.shape == img.shape and (ov != img).any()
    np.testing.assert_allclose(normalize_map(np.array([0., 2., 4.]), 100), [0, 0.5, 1])
    fig, res = compare_real_fake(det, samples[1].source, img, samples[1].mask, "saliency")
    assert set(res["agreement"]) == {"energy_in_mask", "pointing_game", "mask_fraction"}
    assert figure_png(fig)[:8] == b"\x89PNG\r\n\x1a\n"
    assert figure_png(plot_attribution(res["real"]))[:4] == b"\x89PNG"

def test_bundled_samples(samples):
    assert [s.label for s in samples] == [0, 1, 1, 1, 0]
    assert [(s.method_id, s.tri) for s in samples] == [(0, 0), (4, 2), (10, 1), (12, 1), (0, 0)]   # BlendFace, FOMM, MaskGAN analogues
    for s in samples[1:4]:
        np.testing.assert_array_equal(s.mask, forgery_mask(s.image, s.source))
        np.testing.assert_array_equal(s.source, samples[0].image)       # all three forge the first real face
        assert 0 < (s.mask > 25).mean() < 0.4
        assert FORGERY_METHODS[s.method_id].name in s.method and TRI_NAMES[s.tri] in s.name
    reen = samples[2].mask > 25
    assert np.nonzero(reen)[0].mean() > 32                         # the reenactment changed the mouth: lower half
    assert (bundled_samples(64)[3].image == samples[3].image).all()

def test_bundled_samples_are_the_forge_ops(samples):
    "The dashboard's fakes and masks are exactly what forensics.forge makes (the dataset's operations)."
    a_id, _ = split_identities("test", 2)
    f = reenact(synthetic_face(a_id, (6.0, -3.0, 2.0), size=64, noise=3.5, seed=0), mouth=(0.85, 1.1), blink=0.0, seed=0)
    np.testing.assert_array_equal(samples[2].image, f.image)
    np.testing.assert_array_equal(samples[2].mask, f.mask)
    assert (samples[2].method_id, samples[2].tri) == (f.method_id, f.tri)

def test_face_or_whole(samples):
    face = np.pad(bundled_samples(128)[0].image, ((50, 20), (10, 90), (0, 0)), mode="edge")
    crop, how = face_or_whole(face, 64)
    assert how.startswith("face") and crop.shape == (64, 64, 3)
    np.testing.assert_array_equal(crop, crop_face(face, find_faces(face)[0], 64, 0.3)[0])   # the faces module's crop, nothing else
    flat, how = face_or_whole(np.full((40, 60, 3), 9, np.uint8))
    assert how.startswith("no face") and flat.shape == (40, 60, 3)

def test_time_methods(det, samples):
    t = time_methods(det, samples[1].image, ("saliency", "gradcam"))
    assert set(t) == {"saliency", "gradcam"} and all(v > 0 for v in t.values())

# ---- loading --------------------------------------------------------------------------------------------------
def test_load_detector_errors(tmp_path):
    with pytest.raises(MissingFileError, match="synthlab train detect"): load_detector("no-such-detector-xyz")
    with pytest.raises(MissingFileError, match="does not exist"): load_detector(str(tmp_path / "nope.pt"))
    torch.save({"w": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a checkpoint of synthlab's small forgery detector"): load_detector(tmp_path / "other.pt", cache=False)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="junk.pt"): load_detector(tmp_path / "junk.pt", cache=False)
    hub.save_weights(hub.TinyNet(), "tiny", "synthlab.hub:TinyNet", folder=tmp_path)
    with pytest.raises(CheckpointError, match="not a forgery detector"): load_detector(tmp_path / "tiny.json", cache=False)

def test_load_detector_card_checkpoint_and_fallback(tmp_path):
    torch.manual_seed(3)
    m = build_detector("small")
    hub.save_weights(m, "det-test", "synthlab.forensics.detectors:build_detector", {"arch": "small"}, folder=tmp_path)
    got, info = load_detector(tmp_path / "det-test.json", cache=False)
    assert info["trained"] and not got.training and detector_size(got) == 128
    assert torch.equal(next(got.parameters()), next(m.parameters()))
    torch.save(m.state_dict(), tmp_path / "det.pt")
    got2, _ = load_detector(tmp_path / "det.pt", cache=False)
    assert torch.equal(next(got2.parameters()), next(m.parameters()))
    if "no-preset-here" not in hub.list_presets().names:
        with pytest.warns(UserWarning, match="untrained"): u, i = load_detector("no-preset-here", untrained_ok=True, cache=False)
        assert i["trained"] is False and "synthlab train detect" in i["note"]

# ---- the widget -----------------------------------------------------------------------------------------------
def _upload(img, name="me.png"):
    buf = io.BytesIO(); Image.fromarray(img).save(buf, format="PNG")
    return ({"name": name, "type": "image/png", "size": len(buf.getvalue()), "content": memoryview(buf.getvalue()),
             "last_modified": datetime.datetime.now(datetime.timezone.utc)},)

def test_explorer(det):
    ex = SaliencyExplorer(det, {"note": "test detector"}, n_steps=4)
    assert ex.status.value == "" and ex.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "P(fake)" in ex.stats.value and "inside the true mask" in ex.stats.value and "Grad-CAM" in ex.timing.value
    png0 = ex.image.value
    ex.method.value = "ig"
    assert ex.status.value == "" and ex.image.value != png0 and set(ex.timings) == {"gradcam", "ig"}
    ex.sample.value = 0
    assert "no true mask (a real face)" in ex.stats.value
    ex.upload.value = _upload(bundled_samples(128)[4].image)
    assert ex.status.value == "" and "me.png" in ex.sample.label and "truth: unknown" in ex.stats.value

def test_explorer_shows_errors_in_one_line():
    ex = SaliencyExplorer(lin(32), {"note": "linear"}, sample=0, method="saliency")
    assert ex.status.value == ""
    ex.method.value = "gradcam"                                      # the linear model has no cam_layer
    assert "could not draw this" in ex.status.value and "cam_layer" in ex.status.value and "Traceback" not in ex.status.value

def test_explorer_detector_menu(det, tmp_path):
    ex = SaliencyExplorer(det, {"note": "test detector", "name": "mine"}, n_steps=4)
    assert ex.detector.label == "given: mine" and ex.detector.options[-1][1] == "untrained"
    ex.detector.value = "untrained"
    assert ex.status.value == "" and "random weights" in ex.note.value and ex.model is not det
    ex.detector.value = ex.detector.options[0][1]                       # back to the given model
    assert ex.model is det and ex.status.value == ""
