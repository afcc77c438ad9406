"Tests for synthlab.forensics.detectors: the five detector architectures, the DCT frequency branch, the loss, Captum."
import math, time
import numpy as np
import pytest
import torch
import torch.nn as nn
from synthlab.core import ShapeError, InputError
from synthlab.forensics.detectors import (ARCHS, DetectorConfig, Detector, build_detector, detection_loss, check_images,
    count_params, Xception, XceptionBlock, ResNet18, MobileNet, SmallCNN, F3Net, FAD, SeparableConv2d,
    dct_matrix, dct_filter_bank, band_masks)

torch.set_num_threads(1)
SIZES = {"xception": 0.25, "resnet18": 0.25, "mobilenet": 0.25, "f3net": 0.5, "small": 0.5}   # test widths


@pytest.fixture(scope="module")
def tiny():
    "One eval-mode reduced-width detector per arch (built once)."
    torch.manual_seed(0)
    return {a: build_detector(a, width=SIZES[a]).eval() for a in ARCHS}


# ---------------------------------------------------------------------------------------------- config
def test_config_defaults_and_errors():
    c = DetectorConfig()
    assert (c.arch, c.size, c.n_cls) == ("small", 128, 16)
    assert build_detector(c.to_dict()).cfg == c                          # dict round trip (hub cards store dicts)
    assert build_detector("resnet18", width=0.25).cfg.arch == "resnet18"
    with pytest.raises(InputError, match="choose one of"): DetectorConfig(arch="vgg16")
    with pytest.raises(InputError, match="size"): DetectorConfig(size=16)
    with pytest.raises(InputError, match="width"): DetectorConfig(width=0)
    with pytest.raises(InputError, match="divisible"): DetectorConfig(arch="f3net", size=100)
    with pytest.raises(InputError, match="no field"): build_detector(depth=3)
    with pytest.raises(InputError): build_detector(42)


# ---------------------------------------------------------------------------------------------- parameter counts
def test_param_counts_match_published_models():
    # ForgeryNet's models/xception.py with num_classes=2: 20,811,050 (the "20.8 M" of the reference notes)
    assert count_params(Xception()) + 2048 * 2 + 2 == 20_811_050
    # torchvision resnet18: 11,689,512 incl. the 1000-way fc (512*1000 + 1000)
    assert count_params(ResNet18()) + 512 * 1000 + 1000 == 11_689_512
    # torchvision mobilenet_v2: 3,504,872 incl. the classifier Linear(1280, 1000)
    assert count_params(MobileNet()) + 1280 * 1000 + 1000 == 3_504_872
    # a Detector adds 2 + 3 + 16 logits on the pooled feature
    d = build_detector("resnet18")
    assert count_params(d) == 11_176_512 + 512 * 21 + 21
    # the width multiplier shrinks the network
    assert count_params(Xception(0.25)) < count_params(Xception()) / 10


def test_xception_module_names_follow_forgerynet():
    keys = set(Xception().state_dict())
    for k in ("conv1.weight", "bn1.running_var", "conv2.weight", "bn2.weight",
              "block1.rep.0.conv1.weight", "block1.rep.0.pointwise.weight", "block1.rep.1.weight", "block1.rep.3.pointwise.weight",
              "block1.skip.weight", "block1.skipbn.weight", "block4.rep.1.conv1.weight", "block11.rep.8.running_mean",
              "block12.rep.4.pointwise.weight", "block12.skipbn.bias", "conv3.conv1.weight", "conv3.pointwise.weight",
              "bn3.weight", "conv4.pointwise.weight", "bn4.bias"):
        assert k in keys, k
    assert not any(k.startswith("block4.skip") for k in keys)            # middle-flow blocks use the identity shortcut
    sd = Xception().state_dict()
    assert tuple(sd["block12.rep.4.pointwise.weight"].shape) == (1024, 728, 1, 1)   # grow_first=False: last conv grows
    assert tuple(sd["conv1.weight"].shape) == (32, 3, 3, 3) and tuple(sd["conv4.pointwise.weight"].shape) == (2048, 1536, 1, 1)


# ---------------------------------------------------------------------------------------------- smoke + shapes
@pytest.mark.parametrize("arch", ARCHS)
def test_outputs_for_several_sizes(tiny, arch):
    d = tiny[arch]
    for s in (32, 64, 96):
        out = d(torch.rand(2, 3, s, s))
        assert set(out) == {"bin", "tri", "cls", "feat"}
        assert out["bin"].shape == (2, 2) and out["tri"].shape == (2, 3) and out["cls"].shape == (2, 16)
        assert out["feat"].shape == (2, d.feat_dim) and torch.isfinite(out["bin"]).all()


def test_feature_map_strides():
    x = torch.rand(1, 3, 128, 128)
    assert Xception(0.25)(x).shape[-2:] == (4, 4)                          # 128 → 63 → 61 → 31 → 16 → 8 → 4
    assert ResNet18(0.25)(x).shape[-2:] == (4, 4)
    assert MobileNet(0.25)(x).shape[-2:] == (4, 4)
    assert SmallCNN(0.5)(x).shape[-2:] == (8, 8)
    assert F3Net(0.5)(x).shape[-2:] == (8, 8)


def test_n_cls_and_batch_independence(tiny):
    assert build_detector("small", width=0.25, n_cls=5)(torch.rand(1, 3, 32, 32))["cls"].shape == (1, 5)
    d, x = tiny["small"], torch.rand(3, 3, 48, 48)
    full = d(x)["bin"]                                                    # eval mode: each row independent of the others
    torch.testing.assert_close(d(x[1:2])["bin"], full[1:2], atol=1e-5, rtol=1e-4)


def test_predict(tiny):
    d = tiny["f3net"].train()
    p = d.predict(torch.rand(4, 3, 64, 64))
    assert d.training, "predict must restore the train/eval mode"
    d.eval()
    assert p["p_fake"].shape == (4,) and p["p_tri"].shape == (4, 3) and p["p_cls"].shape == (4, 16)
    torch.testing.assert_close(p["p_cls"].sum(1), torch.ones(4))
    assert ((p["p_fake"] >= 0) & (p["p_fake"] <= 1)).all() and not p["p_fake"].requires_grad


# ---------------------------------------------------------------------------------------------- input validation
def test_input_errors(tiny):
    d = tiny["small"]
    with pytest.raises(ShapeError, match="3 RGB channels"): d(torch.rand(1, 1, 64, 64))
    with pytest.raises(ShapeError, match="alpha"): d(torch.rand(1, 4, 64, 64))
    with pytest.raises(ShapeError, match="permute"): d(torch.rand(1, 64, 64, 3))
    with pytest.raises(ShapeError, match="batch dimension"): d(torch.rand(3, 64, 64))
    with pytest.raises(ShapeError, match="4D"): d(torch.rand(1, 1, 3, 64, 64))
    with pytest.raises(ShapeError, match="at least 32"): d(torch.rand(1, 3, 16, 16))
    with pytest.raises(ShapeError, match="empty"): d(torch.rand(0, 3, 64, 64))
    with pytest.raises(InputError, match="divide by 255"): d(torch.randint(0, 256, (1, 3, 64, 64)).float())
    with pytest.raises(InputError, match="dtype"): d(torch.randint(0, 256, (1, 3, 64, 64), dtype=torch.uint8))
    with pytest.raises(InputError, match=r"\(x \+ 1\) / 2"): d(torch.rand(1, 3, 64, 64) * 2 - 1)
    with pytest.raises(InputError, match="NaN"): d(torch.full((1, 3, 64, 64), float("nan")))
    with pytest.raises(InputError, match="torch.Tensor"): d(np.zeros((1, 3, 64, 64), np.float32))
    with pytest.raises(ShapeError, match="divisible by 8"): tiny["f3net"](torch.rand(1, 3, 60, 60))
    with pytest.raises(InputError, match="choose 'bin'"): d.classifier("p_fake")
    d(torch.rand(1, 3, 64, 64) * 0.02 + 0.99 - 0.01)                      # tiny float overshoot is accepted
    d.classifier("bin")(torch.rand(1, 3, 64, 64) * 1.6 - 0.3)             # Captum's view skips the range check


# ---------------------------------------------------------------------------------------------- DCT / F3
def test_dct_matrix_known_values():
    r = 1 / math.sqrt(2)
    torch.testing.assert_close(dct_matrix(2), torch.tensor([[r, r], [r, -r]], dtype=torch.float64))
    scipy_fft = pytest.importorskip("scipy.fft")
    np.testing.assert_allclose(dct_matrix(8).numpy(), scipy_fft.dct(np.eye(8), norm="ortho", axis=0), atol=1e-12)


def test_dct_filter_bank_is_orthonormal_and_bands_partition():
    for n in (4, 8):
        fb = dct_filter_bank(n).reshape(n * n, n * n).double()
        torch.testing.assert_close(fb @ fb.T, torch.eye(n * n, dtype=torch.float64), atol=1e-6, rtol=0)
    m = band_masks(8)
    assert m.shape == (3, 64) and (m.sum(0) == 1).all()                   # every coefficient in exactly one band
    assert m[0, 0] == 1 and m[2, 63] == 1                                 # DC is low, (7, 7) is high


def test_fad_bands_reconstruct_and_known_signals():
    fad = FAD(8)
    x = torch.rand(2, 3, 32, 40)
    y = fad(x)
    assert y.shape == (2, 9, 32, 40)
    torch.testing.assert_close(y.reshape(2, 3, 3, 32, 40).sum(1), x, atol=1e-5, rtol=0)     # low + mid + high = image
    # a constant image: all energy in DC → the low band is the image, mid and high are zero
    c = fad(torch.full((1, 3, 16, 16), 0.3)).reshape(1, 3, 3, 16, 16)
    torch.testing.assert_close(c[:, 0], torch.full((1, 3, 16, 16), 0.3), atol=1e-6, rtol=0)
    assert c[:, 1:].abs().max() < 1e-6
    # a tiled DCT basis image lands entirely in the band of its (u, v): (0, 1) low, (2, 2) mid, (7, 7) high
    fb = dct_filter_bank(8)
    for (u, v), band in (((0, 1), 0), ((2, 2), 1), ((3, 4), 2), ((7, 7), 2)):
        pat = fb[u * 8 + v, 0].repeat(2, 2)[None, None].expand(1, 3, 16, 16)
        h = fad(pat).reshape(1, 3, 3, 16, 16)
        torch.testing.assert_close(h[:, band], pat, atol=1e-5, rtol=0)
        assert torch.cat([h[:, b] for b in range(3) if b != band]).abs().max() < 1e-5
    # band-major layout: channel 3·b + c is band b of colour c
    x = torch.zeros(1, 3, 8, 8); x[0, 1] = 1.0
    assert torch.allclose(fad(x)[0, 1], torch.ones(8, 8), atol=1e-6) and fad(x)[0, 0].abs().max() < 1e-6


def test_fad_learnable_gain_changes_bands():
    fad = FAD(8)
    with torch.no_grad(): fad.gain[2] = 20.0                               # tanh → 1: the high band doubled
    x = torch.rand(1, 1, 16, 16)
    y, y0 = fad(x), FAD(8)(x)
    torch.testing.assert_close(y[:, 2], 2 * y0[:, 2], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(y[:, :2], y0[:, :2])


# ---------------------------------------------------------------------------------------------- gradients
def test_gradcheck_fad_and_xception_block():
    fad = FAD(4).double()
    with torch.no_grad(): fad.gain.normal_(0, 0.3)
    x = torch.rand(1, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fad, (x,), eps=1e-6, atol=1e-5)
    torch.manual_seed(0)
    blk = XceptionBlock(2, 4, reps=2, stride=2).double().eval()
    with torch.no_grad():
        for m in blk.modules():
            if isinstance(m, nn.BatchNorm2d): m.running_mean.normal_(0, 0.1); m.weight.normal_(1, 0.2)
    x = torch.rand(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(blk, (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_gradient_reaches_every_parameter(arch):
    torch.manual_seed(0)
    d = build_detector(arch, width=SIZES[arch]).train()
    out = d(torch.rand(2, 3, 64, 64))
    loss, _ = detection_loss(out, dict(bin=torch.tensor([0, 1]), tri=torch.tensor([0, 2]), cls=torch.tensor([0, 7])))
    loss.backward()
    for name, p in d.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"{name} gets no gradient"


# ---------------------------------------------------------------------------------------------- Captum rules
@pytest.mark.parametrize("arch", ARCHS)
def test_each_module_called_at_most_once_and_no_inplace(tiny, arch):
    d = tiny[arch]
    calls, hooks = {}, []
    for name, m in d.named_modules():
        hooks.append(m.register_forward_hook(lambda mod, i, o, n=name: calls.__setitem__(n, calls.get(n, 0) + 1)))
    try: d(torch.rand(1, 3, 64, 64))
    finally:
        for h in hooks: h.remove()
    twice = {n: c for n, c in calls.items() if c > 1}
    assert not twice, f"modules called more than once: {twice}"
    leaves = [n for n, m in d.named_modules() if not list(m.children())]
    assert set(leaves) <= set(calls), f"modules never called: {sorted(set(leaves) - set(calls))[:5]}"
    for n, m in d.named_modules():
        assert not getattr(m, "inplace", False), f"{n} is in place"


@pytest.mark.parametrize("arch", ARCHS)
def test_captum_methods_run(tiny, arch):
    captum = pytest.importorskip("captum.attr")
    d = tiny[arch]
    f, x = d.classifier("bin"), torch.rand(1, 3, 32, 32)
    assert isinstance(f(x), torch.Tensor) and f(x).shape == (1, 2)
    ig = captum.IntegratedGradients(f).attribute(x, target=1, n_steps=4)
    assert ig.shape == x.shape and torch.isfinite(ig).all() and ig.abs().sum() > 0
    cam = captum.LayerGradCam(f, d.cam_layer).attribute(x, target=1, relu_attributions=True)
    up = captum.LayerAttribution.interpolate(cam, (32, 32), interpolate_mode="bilinear")
    assert up.shape == (1, 1, 32, 32) and (cam >= 0).all()
    nt = captum.NoiseTunnel(captum.Saliency(f)).attribute(x, nt_type="smoothgrad", nt_samples=2, stdevs=0.15, target=1)
    assert nt.shape == x.shape
    occ = captum.Occlusion(f).attribute(x, sliding_window_shapes=(3, 16, 16), strides=(3, 16, 16), baselines=0, target=1,
                                        perturbations_per_eval=4)
    assert occ.shape == x.shape
    dl = captum.DeepLift(f).attribute(x, target=1)                        # refuses reused ReLU modules
    assert dl.shape == x.shape and torch.isfinite(dl).all()
    tri = captum.Saliency(d.classifier("cls")).attribute(x, target=5)
    assert tri.shape == x.shape


def test_ig_completeness_small(tiny):
    "IG's completeness axiom: attributions sum to f(x) − f(baseline) (checks the classifier view is a plain function)."
    captum = pytest.importorskip("captum.attr")
    d = tiny["small"]; f = d.classifier("bin")
    x = torch.rand(1, 3, 32, 32)
    attr, delta = captum.IntegratedGradients(f).attribute(x, target=1, n_steps=64, return_convergence_delta=True)
    with torch.no_grad(): gap = (f(x)[0, 1] - f(torch.zeros_like(x))[0, 1]).item()
    assert abs(attr.sum().item() - gap) < 0.05 * abs(gap) + 1e-3


# ---------------------------------------------------------------------------------------------- loss + training
def test_detection_loss_known_values_and_errors():
    out = dict(bin=torch.zeros(2, 2), tri=torch.zeros(2, 3), cls=torch.zeros(2, 16))
    batch = dict(bin=torch.tensor([0, 1]), tri=torch.tensor([0, 2]), cls=torch.tensor([0, 9]))
    loss, logs = detection_loss(out, batch)
    assert abs(loss.item() - (math.log(2) + 0.5 * math.log(3) + 0.5 * math.log(16))) < 1e-5
    assert set(logs) == {"loss_bin", "acc", "loss_tri", "loss_cls"}
    loss, logs = detection_loss(out, dict(bin=batch["bin"]))                # no tri / cls labels: binary only
    assert abs(loss.item() - math.log(2)) < 1e-6 and "loss_tri" not in logs
    loss, _ = detection_loss(out, batch, w_tri=0, w_cls=1)
    assert abs(loss.item() - (math.log(2) + math.log(16))) < 1e-5
    confident = dict(bin=torch.tensor([[10.0, -10.0], [-10.0, 10.0]]))
    assert detection_loss(confident, dict(bin=[0, 1]))[1]["acc"] == 1.0
    with pytest.raises(InputError, match="outside 0..1"): detection_loss(out, dict(bin=torch.tensor([0, 2])))
    with pytest.raises(InputError, match="outside 0..15"): detection_loss(out, dict(bin=batch["bin"], cls=torch.tensor([0, 16])))
    with pytest.raises(ShapeError, match="3 labels"): detection_loss(out, dict(bin=torch.tensor([0, 1, 1])))
    with pytest.raises(InputError, match="'bin'"): detection_loss(out, dict(tri=batch["tri"]))
    with pytest.raises(InputError): detection_loss(torch.zeros(2, 2), batch)


@pytest.mark.parametrize("arch", ["small", "f3net"])
def test_tiny_overfit_loss_drops(arch):
    torch.manual_seed(0)
    x = torch.rand(8, 3, 32, 32) * 0.8 + 0.1
    y = torch.arange(8) % 2
    x[y == 1, :, ::2, ::2] += 0.08                                        # fakes: a faint 2-pixel grid
    d = build_detector(arch, width=0.25)
    opt = torch.optim.Adam(d.parameters(), 3e-3)
    losses = []
    for _ in range(12):
        loss, _ = detection_loss(d(x.clamp(0, 1)), dict(bin=y, tri=2 * y, cls=3 * y))
        opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses


# ---------------------------------------------------------------------------------------------- hub
def test_hub_round_trip(tmp_path):
    from synthlab.hub import save_weights, load, resolve_builder
    assert resolve_builder("detector") is build_detector
    torch.manual_seed(0)
    d = build_detector("small", width=0.25).eval()
    c = save_weights(d, "detect-test", build_detector, config=d.cfg.to_dict(), folder=tmp_path)
    assert c.builder == "synthlab.forensics.detectors:build_detector"
    back = load("detect-test", folder=tmp_path)
    assert isinstance(back, Detector) and not back.training
    x = torch.rand(2, 3, 64, 64)
    torch.testing.assert_close(back(x)["bin"], d(x)["bin"])


# ---------------------------------------------------------------------------------------------- timing (slow)
@pytest.mark.slow
def test_shipped_detector_meets_captum_targets():
    """The issue's targets: IG-50 <= 2 s and Grad-CAM <= 0.3 s per image for the shipped 'small' at 128 px on 2 cores.

    The test machine's cores are shared, so wall time swings 5x with the load; the check uses the process's CPU time on
    ONE thread (best of 3), which bounds the uncontended wall time on one core (stricter than the 2-core target)."""
    captum = pytest.importorskip("captum.attr")
    torch.set_num_threads(1)
    d = build_detector(DetectorConfig()).eval(); f = d.classifier("bin"); x = torch.rand(1, 3, 128, 128)
    ig, gc = captum.IntegratedGradients(f), captum.LayerGradCam(f, d.cam_layer)
    def best(fn, n=3):
        ts = []
        for _ in range(n): t0 = time.process_time(); fn(); ts.append(time.process_time() - t0)
        return min(ts)
    t_ig = best(lambda: ig.attribute(x, target=1, n_steps=50, internal_batch_size=10))
    t_cam = best(lambda: captum.LayerAttribution.interpolate(gc.attribute(x, target=1, relu_attributions=True), (128, 128)))
    assert t_ig <= 2.0 and t_cam <= 0.3, (t_ig, t_cam)

def test_avgmax_pool_sees_one_location():
    "Known value: one active position on an 8x8 map gives avg = v/64 and max = v; the heads read both."
    det = build_detector("small", pool="avgmax").eval()
    C = det.backbone.out_ch
    assert det.feat_dim == 2 * C and det.head_bin.in_features == 2 * C
    fmap = torch.zeros(1, C, 8, 8); fmap[0, :, 2, 7] = 3.2
    feat = torch.cat([det.pool(fmap).flatten(1), det.maxpool(fmap).flatten(1)], 1)
    torch.testing.assert_close(feat[0, :C], torch.full((C,), 0.05)); torch.testing.assert_close(feat[0, C:], torch.full((C,), 3.2))
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    det(x)["bin"][:, 1].sum().backward()
    assert x.grad.abs().sum() > 0
    with pytest.raises(InputError, match="pool must be"): build_detector("small", pool="median")


# ---------------------------------------------------------------------------------------------- SRM noise residuals
from synthlab.forensics.detectors import NoiseResidual, SRM_FILTERS


def test_noise_residual_smoke_and_known_values():
    nr = NoiseResidual()
    out = nr(torch.rand(2, 3, 33, 40))
    assert out.shape == (2, 3, 33, 40) and out.abs().max() <= 3.0
    torch.testing.assert_close(SRM_FILTERS.sum((1, 2)), torch.zeros(3))            # high-pass: flat images vanish
    flat = torch.full((1, 3, 32, 32), 0.4)
    assert nr(flat).abs().max() < 1e-5
    ramp = torch.linspace(0, 1, 48).view(1, 1, 48, 1).expand(1, 3, 48, 48)            # vertical ramp: zero inside
    assert nr(ramp)[..., 2:-2, :].abs().max() < 1e-4
    # white noise of sigma grey levels: residual std = sigma * ||f||_2 / scale (before truncation)
    g = torch.Generator().manual_seed(1)
    x = 0.5 + torch.randn(1, 1, 160, 160, generator=g).expand(1, 3, 160, 160) * (1.5 / 255)
    std = nr(x)[0, :, 4:-4, 4:-4].std((1, 2))
    torch.testing.assert_close(std, 1.5 * SRM_FILTERS.flatten(1).norm(dim=1) / 4.0, rtol=0.04, atol=0)
    # an impulse gives back the (scaled) filter, truncated at 3
    imp = torch.zeros(1, 3, 11, 11); imp[..., 5, 5] = 4.0 / 255
    r = NoiseResidual(clip=100.0)(imp)[0, :, 3:8, 3:8]
    torch.testing.assert_close(r, SRM_FILTERS.flip(1, 2), atol=1e-5, rtol=0)


def test_noise_residual_separates_camera_noise_from_redrawn_skin():
    "The cue the residual exists for: a re-drawn (noise-free) face region is quieter than the photographed one."
    from synthlab.forensics.forge import synthetic_face, edit_attribute
    src = synthetic_face(5, size=128, noise=3.0, seed=2)
    fk = edit_attribute(src, "smooth", seed=1)
    t = lambda a: torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255
    reg = torch.from_numpy(fk.region > 0)
    nr = NoiseResidual()
    a, b = nr(t(src.image))[0].abs().mean(0)[reg].mean(), nr(t(fk.image))[0].abs().mean(0)[reg].mean()
    assert b < 0.5 * a


def test_srm_detector_config_and_gradients():
    torch.manual_seed(0)
    for arch in ARCHS:
        d = build_detector(arch, width=SIZES[arch], srm=True).eval()
        assert d(torch.rand(1, 3, 64, 64))["bin"].shape == (1, 2)
    d = build_detector("small", width=0.5, srm=True)
    assert d.backbone.stem[0].in_channels == 6
    assert set(d.state_dict()) == set(build_detector("small", width=0.5).state_dict())    # the filters are not saved
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    d(x)["bin"][:, 1].sum().backward()
    assert x.grad.abs().sum() > 0
    y = torch.rand(1, 3, 12, 12, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: NoiseResidual(clip=1e3).double()(v), (y,), eps=1e-6, atol=1e-5)
    with pytest.raises(InputError, match="srm must be"): build_detector("small", srm="yes")
    with pytest.raises(InputError, match="srm must be"): DetectorConfig(srm=1)
