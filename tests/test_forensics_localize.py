"Tests for synthlab.forensics.localize: the U-Net localizer, its loss, the toy blobs and the overfit sanity check."
import math
import numpy as np
import pytest
import torch
import torch.nn as nn
from synthlab.core import ShapeError, InputError
from synthlab.metrics import mask_iou
from synthlab.forensics.localize import (LocalizerConfig, Localizer, build_localizer, localization_loss, toy_blobs,
                                         DoubleConv, UpBlock)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def loc():
    torch.manual_seed(0)
    return build_localizer(base=8, depth=3).eval()


def test_config():
    c = LocalizerConfig()
    assert c.channels == [16, 32, 64, 128, 256] and c.size == 128
    assert LocalizerConfig(base=32, depth=4, max_ch=128).channels == [32, 64, 128, 128, 128]
    assert build_localizer(c.to_dict()).cfg == c
    with pytest.raises(InputError, match="divisible"): LocalizerConfig(size=100, depth=3)
    with pytest.raises(InputError, match="depth"): LocalizerConfig(depth=0)
    with pytest.raises(InputError, match="no field"): build_localizer(width=2)
    with pytest.raises(InputError, match="dropout"): LocalizerConfig(dropout=1.0)


@pytest.mark.parametrize("depth,sizes", [(2, (16, 36, 64)), (3, (32, 48, 80)), (4, (32, 64))])
def test_output_shapes(depth, sizes):
    m = build_localizer(base=4, depth=depth).eval()
    for s in sizes:
        out = m(torch.rand(2, 3, s, s))
        assert out["mask"].shape == (2, 1, s, s) and out["bin"].shape == (2, 2) and out["feat"].shape == (2, m.cfg.channels[-1])
    x = torch.rand(1, 3, 32, 48)                                           # non-square inputs work too
    assert m(x)["mask"].shape == (1, 1, 32, 48)


def test_is_a_unet_with_skips(loc):
    "A real U-Net: the full-resolution skip makes the logit at (i, j) depend most on the input pixels near (i, j)."
    names = [n for n, _ in loc.named_children()]
    assert {"inc", "downs", "ups", "out", "head_bin"} <= set(names) and len(loc.ups) == len(loc.downs) == 3
    # the first decoder conv reads upsampled features + the skip (channels add up)
    assert loc.ups[-1].conv[0][0].in_channels == loc.cfg.channels[1] + loc.cfg.channels[0]
    x = torch.rand(1, 3, 32, 32, requires_grad=True)
    loc(x)["mask"][0, 0, 5, 20].backward()
    g = x.grad.abs().sum(1)[0]
    i, j = divmod(int(g.argmax()), 32)
    assert abs(i - 5) <= 2 and abs(j - 20) <= 2, (i, j)


def test_predict_mask(loc):
    loc.train()
    m = loc.predict_mask(torch.rand(3, 3, 32, 32))
    assert loc.training
    loc.eval()
    assert m.shape == (3, 1, 32, 32) and (m >= 0).all() and (m <= 1).all() and not m.requires_grad
    p = loc.predict(torch.rand(2, 3, 32, 32))
    assert p["p_fake"].shape == (2,) and ((p["p_fake"] >= 0) & (p["p_fake"] <= 1)).all()


def test_input_errors(loc):
    with pytest.raises(ShapeError, match="divisible by 8"): loc(torch.rand(1, 3, 36, 36))
    with pytest.raises(ShapeError, match="3 RGB channels"): loc(torch.rand(1, 1, 32, 32))
    with pytest.raises(ShapeError, match="batch dimension"): loc(torch.rand(3, 32, 32))
    with pytest.raises(InputError, match="divide by 255"): loc(torch.rand(1, 3, 32, 32) * 255)
    with pytest.raises(InputError, match="dtype"): loc(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))


def test_loss_known_values():
    # logit 0 → sigmoid 0.5: BCE = log 2 for any target, L1 = mean |0.5 - t|; uniform bin logits → CE = log 2
    out = dict(mask=torch.zeros(2, 1, 4, 4), bin=torch.zeros(2, 2))
    gt = torch.zeros(2, 1, 4, 4); gt[:, :, :2] = 1.0; gt[:, :, 3] = 0.3          # soft values allowed
    l1 = (0.5 * 8 + 0.5 * 4 + 0.2 * 4) / 16
    loss, logs = localization_loss(out, dict(mask=gt, bin=torch.tensor([0, 1])))
    assert abs(loss.item() - (math.log(2) + l1 + math.log(2))) < 1e-6
    assert abs(logs["l1"] - l1) < 1e-6 and set(logs) == {"loss_bce", "l1", "loss_bin"}
    loss, _ = localization_loss(out, dict(mask=gt[:, 0]), w_l1=2.0)        # (B, H, W) masks, no bin labels
    assert abs(loss.item() - (math.log(2) + 2 * l1)) < 1e-6
    # BCE with logits: a confident correct prediction costs ~0, a confident wrong one ~|logit|
    good = dict(mask=torch.where(gt > 0.5, 20.0, -20.0)[:, :, :2])
    assert localization_loss(good, dict(mask=gt[:, :, :2]), w_l1=0)[0] < 1e-6
    bad = dict(mask=torch.full((1, 1, 2, 2), -10.0))
    assert abs(localization_loss(bad, dict(mask=torch.ones(1, 1, 2, 2)), w_l1=0)[0].item() - 10.0) < 1e-3


def test_loss_errors():
    out = dict(mask=torch.zeros(1, 1, 8, 8), bin=torch.zeros(1, 2))
    with pytest.raises(ShapeError, match="resize"): localization_loss(out, dict(mask=torch.zeros(1, 1, 4, 4)))
    with pytest.raises(InputError, match="divide the uint8"): localization_loss(out, dict(mask=torch.full((1, 1, 8, 8), 255.0)))
    with pytest.raises(InputError, match="divide the uint8"): localization_loss(out, dict(mask=torch.zeros(1, 1, 8, 8, dtype=torch.uint8)))
    with pytest.raises(InputError, match="labels"): localization_loss(out, dict(mask=torch.zeros(1, 1, 8, 8), bin=torch.tensor([3])))
    with pytest.raises(InputError, match="'mask'"): localization_loss(out, dict(bin=torch.tensor([0])))


def test_toy_blobs():
    d = toy_blobs(6, 32, seed=1)
    assert d["image"].shape == (6, 3, 32, 32) and d["mask"].shape == (6, 1, 32, 32) and d["bin"].tolist().count(1) == 3
    assert d["image"].min() >= 0 and d["image"].max() <= 1 and d["mask"].min() >= 0 and d["mask"].max() <= 1
    real = d["bin"] == 0
    assert d["mask"][real].abs().max() == 0 and (d["mask"][~real].flatten(1).max(1).values > 0.9).all()
    # inside the disc the image is bright (>= 0.8 - edge), outside it is noise in [0, 0.6]
    m = d["mask"][~real] > 0.99
    assert d["image"][~real].min(1, keepdim=True).values[m].min() > 0.75
    assert (d["image"][real] <= 0.6 + 1e-6).all()
    torch.testing.assert_close(toy_blobs(6, 32, seed=1)["image"], d["image"])   # seeded


def test_gradcheck_upblock_and_grads_reach_all_params():
    torch.manual_seed(0)
    up = UpBlock(2, 1, 2).double().eval()
    x, s = torch.rand(1, 2, 3, 3, dtype=torch.float64, requires_grad=True), torch.rand(1, 1, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(up, (x, s), eps=1e-6, atol=1e-5)
    m = build_localizer(base=4, depth=2).train()
    d = toy_blobs(4, 16, seed=0)
    loss, _ = localization_loss(m(d["image"]), d)
    loss.backward()
    for n, p in m.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, n


def test_modules_called_once_and_no_inplace(loc):
    calls, hooks = {}, []
    for name, mod in loc.named_modules():
        hooks.append(mod.register_forward_hook(lambda m, i, o, n=name: calls.__setitem__(n, calls.get(n, 0) + 1)))
    try: loc(torch.rand(1, 3, 32, 32))
    finally:
        for h in hooks: h.remove()
    assert not {n: c for n, c in calls.items() if c > 1}
    assert all(not getattr(m, "inplace", False) for m in loc.modules())


def test_captum_on_localizer_bin_head(loc):
    captum = pytest.importorskip("captum.attr")
    f = lambda x: loc(x, check_range=False)["bin"]
    x = torch.rand(1, 3, 32, 32)
    assert captum.IntegratedGradients(f).attribute(x, target=1, n_steps=4).shape == x.shape
    assert captum.LayerGradCam(f, loc.cam_layer).attribute(x, target=1).shape[:2] == (1, 1)


def test_overfit_toy_blobs_iou_rises():
    "A small U-Net overfits 8 toy images: the eval-mode IoU@0.5 of the fakes rises from chance to > 0.7."
    torch.manual_seed(0)
    d = toy_blobs(8, 48, seed=0)
    fake = d["bin"] == 1
    m = build_localizer(base=8, depth=3)
    iou0 = float(mask_iou(m.predict_mask(d["image"][fake]), d["mask"][fake], 0.5))
    opt = torch.optim.Adam(m.parameters(), 5e-3)
    losses = []
    for _ in range(50):
        loss, _ = localization_loss(m(d["image"]), d)
        opt.zero_grad(); loss.backward(); opt.step(); losses.append(loss.item())
    iou = float(mask_iou(m.predict_mask(d["image"][fake]), d["mask"][fake], 0.5))
    assert losses[-1] < 0.3 * losses[0] and iou0 < 0.3 and iou > 0.7, (losses[0], losses[-1], iou0, iou)
    assert m.predict(d["image"])["p_fake"].round().long().tolist() == d["bin"].tolist()


def test_hub_round_trip(tmp_path):
    from synthlab.hub import save_weights, load, resolve_builder
    assert resolve_builder("localizer") is build_localizer
    m = build_localizer(base=4, depth=2).eval()
    save_weights(m, "mask-test", build_localizer, config=m.cfg.to_dict(), folder=tmp_path)
    back = load("mask-test", folder=tmp_path)
    x = torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(back.predict_mask(x), m.predict_mask(x))

def test_fresh_localizer_starts_at_the_prior():
    "The mask logit's bias is the prior (1 % manipulated): an untrained localizer already predicts a near-empty mask."
    from synthlab.forensics.localize import PRIOR_LOGIT, build_localizer
    torch.manual_seed(0)
    loc = build_localizer(size=64, base=8, depth=3).eval()
    assert loc.out.bias.item() == pytest.approx(PRIOR_LOGIT)
    p = loc.predict_mask(torch.rand(2, 3, 64, 64))
    assert 0.002 < p.mean().item() < 0.05
