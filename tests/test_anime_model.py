"""AnimeInterp (synthlab.anime.rfr / synthesis / model) against the official code's reference fixture, plus unit tests.

The reference fixture (../shared/reference/animeinterp) holds inputs and outputs of the official AnimeInterp run with
deterministic weights; `fill_weights.py` regenerates those weights from each key. We save them in the official
checkpoint layout, load them through `load_official` and compare with the README's tolerances.
"""
import importlib.util, math, time
from pathlib import Path
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from synthlab.core import CheckpointError, ShapeError, InputError
from synthlab.flow import coords_grid
from synthlab.anime.rfr import (RFR, RFRConfig, CorrPyramid, SepConvGRU, BasicEncoder, convex_upsample, cartoon_pair,
                                resize_flow_init, _pool_cells)
from synthlab.anime.synthesis import FeatureExtractor, GridNet, resize_flow, splat_pyramid
from synthlab.anime.model import (AnimeInterp, AnimeInterpConfig, InterpOutput, Motion, anime_interp, interpolate,
                                  load_official)

torch.set_num_threads(1)


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def ref_dir(shared_reference):
    p = shared_reference / "animeinterp"
    if not (p / "reference_256x448.npz").exists(): pytest.skip(f"AnimeInterp reference fixture not present at {p}")
    return p

@pytest.fixture(scope="module")
def official_keys(ref_dir):
    "[(key, shape)] of the official state_dict, from state_dict_keys.tsv."
    rows = [l.rstrip("\n").split("\t") for l in (ref_dir / "state_dict_keys.tsv").read_text().splitlines() if l and not l.startswith("#")]
    return [(k, tuple(int(s) for s in shp.split("x"))) for k, shp, _ in rows]

@pytest.fixture(scope="module")
def filled_sd(official_keys, fill_weights):
    "The official weights as fill_weights.py regenerates them, keys without 'module.'."
    return {k: fill_weights.fill_tensor(k, shp) for k, shp in official_keys}

@pytest.fixture(scope="module")
def official_ckpt(filled_sd, tmp_path_factory):
    "A file in anime_interp_full.ckpt's layout: {'model_state_dict': {'module.' + key: tensor}}."
    p = tmp_path_factory.mktemp("ckpt") / "anime_interp_full.ckpt"
    torch.save({"model_state_dict": {"module." + k: v for k, v in filled_sd.items()}}, p)
    return p

@pytest.fixture(scope="module")
def ref(ref_dir):
    return {k: torch.from_numpy(v) for k, v in np.load(ref_dir / "reference_256x448.npz").items()}

@pytest.fixture(scope="module")
def official_model(official_ckpt):
    return load_official(official_ckpt)

@pytest.fixture(scope="module")
def ref_outputs(official_model, ref):
    "One batched forward: sample 0 = SGM flows, sample 1 = zero flows (the fixture's `*_zero` case)."
    I1, I2 = ref["I1"].repeat(2, 1, 1, 1), ref["I2"].repeat(2, 1, 1, 1)
    F12i = torch.cat([ref["F12i"], torch.zeros_like(ref["F12i"])])
    F21i = torch.cat([ref["F21i"], torch.zeros_like(ref["F21i"])])
    with torch.inference_mode(): return official_model(I1, I2, F12i, F21i, t=float(ref["t"]))


# ---------------------------------------------------------------- the official layout and the weight recipe
def test_filled_weights_match_readme_checksums(filled_sd):
    "README checksums of the filled weights (float64 accumulation): proves we regenerate the same tensors."
    assert len(filled_sd) == 220 and sum(v.numel() for v in filled_sd.values()) == 6_208_706
    total = sum(float(v.double().sum()) for v in filled_sd.values())
    absum = sum(float(v.double().abs().sum()) for v in filled_sd.values())
    assert total == pytest.approx(115.185404, abs=1e-5) and absum == pytest.approx(159390.268272, abs=1e-5)
    w = filled_sd["flownet.fnet.conv1.weight"]
    assert float(w.double().sum()) == pytest.approx(-1.07460319, abs=1e-7)
    assert w.flatten()[:3].tolist() == pytest.approx([0.0334865, -0.0921804, 0.0329366], abs=1e-7)
    assert float(filled_sd["feat_ext.prelu1.weight"]) == pytest.approx(0.25472093, abs=1e-8)
    assert filled_sd["synnet.residual_model_tail.3.bias"].tolist() == pytest.approx([-0.00497033, -0.03713337, 0.01155813], abs=1e-8)
    assert float(filled_sd["flownet.update_block.mask.2.weight"].double().sum()) == pytest.approx(30.74405864, abs=1e-6)

def test_state_dict_is_the_official_layout(official_keys):
    "Same 220 keys, shapes and order as the official AnimeInterp state_dict."
    m = AnimeInterp(AnimeInterpConfig.official())
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == official_keys
    assert all(v.dtype == torch.float32 for v in m.state_dict().values())


# ---------------------------------------------------------------- end-to-end against the official outputs
@pytest.mark.parametrize("case,i", [("", 0), ("_zero", 1)], ids=["sgm_flow", "zero_flow"])
def test_matches_official_outputs(ref_outputs, ref, case, i):
    out = ref_outputs
    assert isinstance(out, InterpOutput)
    for k in ("F12in", "F21in"):
        torch.testing.assert_close(getattr(out, k)[i:i + 1], ref[k + case], atol=1e-6, rtol=0)
    for k in ("F12", "F21"):
        torch.testing.assert_close(getattr(out, k)[i:i + 1], ref[k + case], atol=1e-3, rtol=0)
    err = (out.It[i:i + 1] - ref["It" + case]).abs()
    assert err.mean() <= 1e-4, float(err.mean())
    assert err.flatten().quantile(0.99) <= 1e-3, float(err.flatten().quantile(0.99))

def test_synthesis_from_official_flows_is_tight(official_model, ref):
    "README's tight check: the stored official F12/F21 (both cases, as one batch) through our warp + GridNet: It within 1e-4."
    m = official_model
    I1, I2 = ref["I1"].repeat(2, 1, 1, 1), ref["I2"].repeat(2, 1, 1, 1)
    cat = lambda k: torch.cat([ref[k], ref[k + "_zero"]])
    with torch.inference_mode():
        feats = m.feat_ext((torch.cat([I1, I2]) - 0.5) / 0.5)
        motion = Motion(feats, cat("F12"), cat("F21"), cat("F12in"), cat("F21in"))
        out = m.synthesize(I1, I2, motion, t=float(ref["t"]))
    torch.testing.assert_close(out.It, cat("It"), atol=1e-4, rtol=0)

def test_outputs_are_sane(ref_outputs):
    "Splat coverage and warped frames: holes exist but are a minority; warped frames stay in [0, 1]."
    out = ref_outputs
    holes = (out.cover1 == 0).float().mean()
    assert 0 < holes < 0.5
    assert out.I1t.min() >= 0 and out.I1t.max() <= 1 + 1e-6
    assert torch.isfinite(out.It).all()


# ---------------------------------------------------------------- checkpoints
def _save(tmp_path, name, sd, wrap=True):
    p = tmp_path / name
    torch.save({"model_state_dict": sd, "epoch": 1} if wrap else sd, p)
    return p

def test_wrong_checkpoints_raise_with_a_diff(filled_sd, tmp_path):
    good = {"module." + k: v for k, v in filled_sd.items()}
    renamed = dict(good); renamed["module.synnet.tail.3.bias"] = renamed.pop("module.synnet.residual_model_tail.3.bias")
    with pytest.raises(CheckpointError) as e: load_official(_save(tmp_path, "renamed.ckpt", renamed))
    msg = str(e.value)
    assert "synnet.residual_model_tail.3.bias" in msg and "synnet.tail.3.bias" in msg and "missing" in msg
    reshaped = dict(good); reshaped["module.feat_ext.conv1.weight"] = torch.zeros(16, 3, 3, 3)
    with pytest.raises(CheckpointError) as e: load_official(_save(tmp_path, "reshaped.ckpt", reshaped))
    assert "feat_ext.conv1.weight" in str(e.value) and "(16, 3, 3, 3)" in str(e.value) and "(32, 3, 3, 3)" in str(e.value)
    raft_only = {k.replace("module.flownet.", "module."): v for k, v in good.items() if k.startswith("module.flownet.")}
    raft_only["module.cnet.conv1.weight"] = torch.zeros(64, 3, 7, 7)
    with pytest.raises(CheckpointError, match="does not fit AnimeInterp"): load_official(_save(tmp_path, "raft.pth", raft_only))

def test_load_official_accepts_a_flat_state_dict(filled_sd, tmp_path):
    p = _save(tmp_path, "flat.pth", {"module." + k: v for k, v in filled_sd.items()}, wrap=False)
    m = load_official(p)
    assert torch.equal(m.synnet.residual_model_tail[3].bias.detach(), filled_sd["synnet.residual_model_tail.3.bias"])
    assert not m.training


# ---------------------------------------------------------------- known values of the pieces
def test_cartoon_pair_is_the_fixture(ref):
    fr1, fr2, fl12, fl21 = cartoon_pair()
    assert np.array_equal(fr1.transpose(2, 0, 1)[None] / np.float32(255), ref["I1"].numpy())
    assert np.array_equal(fr2.transpose(2, 0, 1)[None] / np.float32(255), ref["I2"].numpy())
    sgm = ref["F12i"][0].permute(1, 2, 0).numpy()
    assert (np.abs(fl12 - sgm).max(-1) == 0).mean() > 0.95   # SGM recovers the true motion almost everywhere

def _raft_lookup(cp, coords):
    "RAFT's own lookup: grid_sample(align_corners=True) around each centre, x-offset-major taps."
    b, h, w = cp.shape; r = cp.radius
    d = torch.linspace(-r, r, 2 * r + 1, dtype=coords.dtype)
    delta = torch.stack(torch.meshgrid(d, d, indexing="ij"), -1).view(1, 2 * r + 1, 2 * r + 1, 2)
    out = []
    for i, corr in enumerate(cp.pyramid):
        xy = coords.permute(0, 2, 3, 1).reshape(b * h * w, 1, 1, 2) / 2 ** i + delta
        H, W = corr.shape[-2:]
        g = torch.cat([2 * xy[..., :1] / (W - 1) - 1, 2 * xy[..., 1:] / (H - 1) - 1], -1)
        out.append(F.grid_sample(corr, g, align_corners=True).view(b, h, w, -1))
    return torch.cat(out, -1).permute(0, 3, 1, 2)

def test_corr_lookup_equals_raft_grid_sample():
    g = torch.Generator().manual_seed(1)
    f1, f2 = torch.randn(2, 16, 8, 12, generator=g, dtype=torch.float64), torch.randn(2, 16, 8, 12, generator=g, dtype=torch.float64)
    cp = CorrPyramid(f1, f2, levels=3, radius=3)
    xy = coords_grid(2, 8, 12, dtype=torch.float64) + 5 * torch.randn(2, 2, 8, 12, generator=g, dtype=torch.float64)
    xy[0, :, 0, 0] = torch.tensor([3.0, 2.0])                  # an exact integer centre
    torch.testing.assert_close(cp.lookup(xy), _raft_lookup(cp, xy), atol=1e-10, rtol=0)

def test_corr_of_onehot_features():
    "One-hot position features: C(p, q) = [p == q] / sqrt(D), so at zero flow only the centre tap is non-zero."
    h, w = 3, 4
    onehot = torch.eye(h * w).reshape(1, h * w, h, w)
    win = CorrPyramid(onehot, onehot, levels=1, radius=1).lookup(coords_grid(1, h, w))
    assert torch.allclose(win[0, 4], torch.full((h, w), 1 / math.sqrt(h * w)))
    assert win[0, [0, 1, 2, 3, 5, 6, 7, 8]].abs().max() == 0

@pytest.mark.parametrize("shape", [(5, 8, 12, 1), (2, 7, 9, 6)])
def test_pool_cells_is_avg_pool2d_bit_for_bit(shape):
    "The pyramid's pooling (over dims 1, 2, odd sizes cropped) gives avg_pool2d's exact floats."
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(2))
    want = F.avg_pool2d(x.permute(0, 3, 1, 2), 2, stride=2).permute(0, 2, 3, 1)
    assert torch.equal(_pool_cells(x), want)
    assert _pool_cells(x).shape == (shape[0], shape[1] // 2, shape[2] // 2, shape[3])

def test_corr_both_ways_equals_two_volumes():
    "One volume read both ways = the pyramids of 1->2 and of 2->1 (C21 = C12 transposed), and RAFT's grid_sample on it."
    g = torch.Generator().manual_seed(4)
    f1, f2 = (torch.randn(2, 16, 8, 11, generator=g, dtype=torch.float64) for _ in range(2))
    xy = coords_grid(4, 8, 11, dtype=torch.float64) + 4 * torch.randn(4, 2, 8, 11, generator=g, dtype=torch.float64)
    both = CorrPyramid(f1, f2, levels=3, radius=2, both_ways=True)
    assert both.shape == (4, 8, 11)
    one12, one21 = CorrPyramid(f1, f2, levels=3, radius=2), CorrPyramid(f2, f1, levels=3, radius=2)
    want = torch.cat([one12.lookup(xy[:2]), one21.lookup(xy[2:])])
    torch.testing.assert_close(both.lookup(xy), want, atol=1e-12, rtol=0)
    torch.testing.assert_close(both.lookup(xy), _raft_lookup(both, xy), atol=1e-10, rtol=0)
    for a, b, c in zip(both.pyramid, one12.pyramid, one21.pyramid):
        torch.testing.assert_close(a, torch.cat([b, c]), atol=1e-12, rtol=0)
    with pytest.raises(ShapeError, match="both directions"): both.lookup(xy[:2])

def test_corr_lookup_gradcheck():
    g = torch.Generator().manual_seed(8)
    f1, f2 = (torch.randn(1, 4, 4, 5, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2))
    xy = coords_grid(2, 4, 5, dtype=torch.float64) + 1.5 * torch.randn(2, 2, 4, 5, generator=g, dtype=torch.float64)
    fn = lambda a, b: CorrPyramid(a, b, levels=2, radius=1, both_ways=True).lookup(xy)
    assert torch.autograd.gradcheck(fn, (f1, f2))

def test_inference_in_place_paths_equal_autograd_paths():
    "In-place activations without autograd (encoder, feature pyramid, GridNet) give the same floats as the autograd path."
    torch.manual_seed(0)
    m = anime_interp("small")
    for p in m.parameters(): p.requires_grad_(False)
    for mod in m.modules():                                    # negative PReLU slopes too
        if isinstance(mod, torch.nn.PReLU): mod.weight.fill_(-0.3)
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 64, 96, generator=g) * 2 - 1
    xs = [torch.randn(1, c, 64 >> i, 96 >> i, generator=g) for c, i in ((6, 0), (32, 0), (64, 1), (96, 2))]
    fe, enc, grid = m.feat_ext, m.flownet.fnet, m.synnet
    with torch.enable_grad():
        xg = x.clone().requires_grad_()
        want = [fe(xg), enc(xg), grid(*[t.clone().requires_grad_() for t in xs])]
    with torch.inference_mode(): got = [fe(x), enc(x), grid(*xs)]
    for a, b in zip(want[0], got[0]): assert torch.equal(a.detach(), b)
    assert torch.equal(want[1].detach(), got[1]) and torch.equal(want[2].detach(), got[2])

def test_rfr_scale_fast_mode():
    "rfr_scale < 1 runs RFR on smaller frames and scales its flows back: known value with a zero flow update."
    torch.manual_seed(0)
    m = anime_interp("small").eval()
    with torch.no_grad():
        last = m.flownet.update_block.flow_head.conv2; last.weight.zero_(); last.bias.zero_()   # dF = 0
    x1, x2 = torch.rand(1, 3, 128, 192), torch.rand(1, 3, 128, 192)
    f = torch.zeros(1, 2, 128, 192); f[:, 0], f[:, 1] = 3.0, -2.0
    for s in (1.0, 0.5):
        m.rfr_scale = s
        with torch.no_grad(): out = m(x1, x2, f, -f)
        assert out.F12.shape == (1, 2, 128, 192) and out.It.shape == (1, 3, 128, 192)
        # RFR adds the init flow twice (official quirk): 2 x (3, -2) px, at any scale (away from the border)
        torch.testing.assert_close(out.F12[0, :, 24:-24, 24:-24].mean((1, 2)), torch.tensor([6.0, -4.0]), atol=1e-4, rtol=0)
        torch.testing.assert_close(out.F21[0, :, 24:-24, 24:-24].mean((1, 2)), torch.tensor([-6.0, 4.0]), atol=1e-4, rtol=0)
    m.rfr_scale = 0.5
    with pytest.raises(ShapeError, match="rfr_scale"): m(x1[..., :48, :], x2[..., :48, :])
    for bad in (0, 1.5, "half", True):
        m.rfr_scale = bad
        with pytest.raises(InputError, match="rfr_scale"): m(x1, x2)
    assert anime_interp("small").rfr_scale == 1.0               # the official network is the default

def test_scale_reduced_resolution_mode():
    "scale < 1 runs the whole network on smaller frames; the full-size splat's detail restores what the downscale lost."
    torch.manual_seed(0)
    m = anime_interp("small").eval()
    with torch.no_grad():
        last = m.flownet.update_block.flow_head.conv2; last.weight.zero_(); last.bias.zero_()   # dF = 0: zero motion
    x1, x2 = torch.rand(1, 3, 128, 192), torch.rand(1, 3, 128, 192)
    with torch.no_grad():
        ref = m(x1, x2)
        m.scale = 1                                               # known value: scale 1 is the network itself, bit for bit
        assert torch.equal(m(x1, x2).It, ref.It)
        m.scale = 0.5
        out = m(x1, x2)
        assert out.It.shape == (1, 3, 128, 192) and out.F12.shape == (1, 2, 128, 192) and out.I1t.shape == (1, 3, 128, 192)
        # a constant-colour pair splats to that colour: no detail to add, the output is the small output upsampled
        c1 = c2 = torch.full((1, 3, 128, 192), 0.3)
        small = F.interpolate(c1, size=(64, 96), mode='bilinear', antialias=True)
        m.scale = 1; want = F.interpolate(m(small, small).It, size=(128, 192), mode='bicubic')
        m.scale = 0.5; torch.testing.assert_close(m(c1, c2).It, want, atol=1e-5, rtol=0)
        # with a GridNet that averages its two frames, zero motion gives exactly the full-size average:
        # up(down(avg)) + avg - up(down(avg)) = avg
        class Average(torch.nn.Module):
            def forward(self, x0, *feats): return (x0[:, :3] + x0[:, 3:]) / 2
        m.synnet = Average()
        torch.testing.assert_close(m(x1, x2).It, (x1 + x2) / 2, atol=1e-5, rtol=0)
        # estimate once, synthesize at several t (the video path) = forward at each t
        mot = m.estimate_motion(x1, x2)
        assert mot.F12.shape[-2:] == (64, 96)
        torch.testing.assert_close(m.synthesize(x1, x2, mot, 0.25).It, m(x1, x2, t=0.25).It)
    with pytest.raises(ShapeError, match="scale"): m(x1[..., :48, :], x2[..., :48, :])   # 24 rows < the 32 RFR needs
    for bad in (0, -0.5, 1.5, "half", True):
        m.scale = bad
        with pytest.raises(InputError, match="scale"): m(x1, x2)
    assert anime_interp("small").scale == 1.0                    # the trained network is the default

def test_fused_gru_equals_plain_sepconvgru():
    gru = SepConvGRU(6, 5, 7).double()
    h, ctx, mot = (torch.randn(2, c, 4, 9, dtype=torch.float64) for c in (6, 5, 7))
    x = torch.cat([ctx, mot], 1); hh = h
    for sfx in "12":
        cz, cr, cq = gru._convs(sfx)
        z, r = torch.sigmoid(cz(torch.cat([hh, x], 1))), torch.sigmoid(cr(torch.cat([hh, x], 1)))
        hh = (1 - z) * hh + z * torch.tanh(cq(torch.cat([r * hh, x], 1)))
    torch.testing.assert_close(gru(h, mot, gru.context_terms(ctx)), hh, atol=1e-12, rtol=0)

def test_convex_upsample_keeps_constant_flow():
    flow = torch.tensor([2.0, -1.0]).view(1, 2, 1, 1).expand(1, 2, 4, 5)
    up = convex_upsample(flow, torch.randn(1, 576, 4, 5))
    torch.testing.assert_close(up[..., 8:24, 8:32], torch.tensor([16.0, -8.0]).view(1, 2, 1, 1).expand(1, 2, 16, 24))

def test_convex_upsample_equals_raft_formula_and_gradcheck():
    "The batched-matmul form equals RAFT's broadcast-and-sum formula (RAFT core/raft.py upsample_flow), values and gradients."
    def raft(flow, mask, f=8):
        n, _, h, w = flow.shape
        m = torch.softmax(mask.view(n, 1, 9, f, f, h, w), dim=2)
        up = torch.nn.functional.unfold(f * flow, [3, 3], padding=1).view(n, 2, 9, 1, 1, h, w)
        return torch.sum(m * up, dim=2).permute(0, 1, 4, 2, 5, 3).reshape(n, 2, f * h, f * w)
    g = torch.Generator().manual_seed(0)
    flow, mask = torch.randn(2, 2, 3, 5, generator=g, dtype=torch.float64), torch.randn(2, 9 * 16, 3, 5, generator=g, dtype=torch.float64)
    torch.testing.assert_close(convex_upsample(flow, mask, 4), raft(flow, mask, 4), atol=1e-12, rtol=0)
    flow, mask = flow[:1, :, :2, :2].clone().requires_grad_(), mask[:1, :, :2, :2].clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, b: convex_upsample(a, b, 4), (flow, mask))

def test_flow_resizes_follow_the_official_arithmetic():
    f = torch.tensor([24.0, 6.0]).view(1, 2, 1, 1).expand(1, 2, 540, 960).contiguous()
    fi = resize_flow_init(f, 536, 960)                         # 1/8 of (H8, W8), scaled by (W8/8)/W and (H8/8)/H
    assert fi.shape == (1, 2, 67, 120)
    assert fi[0, 0, 0, 0] == 24.0 * 120.0 / 960 and fi[0, 1, 0, 0] == 6.0 * 67.0 / 540
    assert resize_flow(f, (135, 240))[0, :, 3, 3].tolist() == [6.0, 1.5]

def test_splat_pyramid_full_size_features_splat_with_the_image():
    "The image and the full-size features are splatted as one tensor: the same floats as separate forward_splat calls."
    from synthlab.flow import forward_splat
    g = torch.Generator().manual_seed(9)
    img, flow = torch.rand(2, 3, 16, 20, generator=g), 3 * torch.randn(2, 2, 16, 20, generator=g)
    feats = [torch.randn(2, 5, 16, 20, generator=g).contiguous(memory_format=torch.channels_last), torch.randn(2, 4, 8, 10, generator=g)]
    with torch.no_grad():
        w, wf, cov = splat_pyramid(img, feats, flow)
        w0, cov0 = forward_splat(img, flow, mode="average", eps=0, return_coverage=True)
        assert torch.equal(w, w0) and torch.equal(cov, cov0) and w.is_contiguous()
        assert torch.equal(wf[0], forward_splat(feats[0], flow, mode="average", eps=0))
        assert torch.equal(wf[1], forward_splat(feats[1], resize_flow(flow, (8, 10)), mode="average", eps=0))
    with pytest.raises(ShapeError, match="flow is"): splat_pyramid(img, feats, flow[..., :8, :])

def test_splat_pyramid_pushes_and_leaves_holes():
    img = torch.arange(20.0).view(1, 1, 4, 5)
    flow = torch.tensor([0.0, 1.0]).view(1, 2, 1, 1).expand(1, 2, 4, 5).contiguous()
    out, feats, cov = splat_pyramid(img, [img[..., ::2, ::2]], flow)
    assert torch.equal(out[0, 0, 1:], img[0, 0, :3]) and out[0, 0, 0].abs().sum() == 0 and cov[0, 0, 0].sum() == 0
    assert feats[0].shape == (1, 1, 2, 3)


# ---------------------------------------------------------------- behaviour
@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return anime_interp("small").eval()

def test_small_bidirectional_equals_two_calls(small):
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(1, 3, 44, 60, generator=g) * 2 - 1, torch.rand(1, 3, 44, 60, generator=g) * 2 - 1
    f12, f21 = torch.randn(1, 2, 44, 60, generator=g), torch.randn(1, 2, 44, 60, generator=g)
    rfr = small.flownet
    with torch.no_grad():
        o12, o21 = rfr.bidirectional(a, b, f12, f21)
        torch.testing.assert_close(o12.flow, rfr(a, b, f12).flow, atol=1e-4, rtol=0)
        torch.testing.assert_close(o21.flow, rfr(b, a, f21).flow, atol=1e-4, rtol=0)
        torch.testing.assert_close(rfr(a, b).flow, rfr(a, b, torch.zeros_like(f12)).flow, atol=1e-6, rtol=0)

def test_attention_branch_is_optional_and_changes_nothing(official_model):
    rfr = official_model.flownet
    g = torch.Generator().manual_seed(0)
    a, b = torch.rand(1, 3, 64, 64, generator=g) * 2 - 1, torch.rand(1, 3, 64, 64, generator=g) * 2 - 1
    f = torch.randn(1, 2, 64, 64, generator=g)
    with torch.no_grad():
        plain, att = rfr(a, b, f, iters=2), rfr(a, b, f, iters=2, attention=True)
    assert plain.gated_init is None and att.gated_init.shape == (1, 2, 8, 8)
    assert torch.equal(plain.flow, att.flow)
    small_rfr = RFR(RFRConfig.small())
    with pytest.raises(InputError, match="error_attention"): small_rfr(a, b, f, iters=1, attention=True)

def test_sizes_and_errors(small):
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        out = small(torch.rand(1, 3, 68, 100), torch.rand(1, 3, 68, 100))     # multiple of 4, not of 8: RFR resizes
    assert out.It.shape == (1, 3, 68, 100) and out.F12.shape == (1, 2, 68, 100) and out.F12in.shape == (1, 2, 8, 12)
    with pytest.raises(ShapeError, match="divisible by 4"): small(x[..., :62, :], x[..., :62, :])
    with pytest.raises(ShapeError, match="at least 32x32"): small(x[..., :28, :], x[..., :28, :])
    with pytest.raises(ShapeError, match="mismatched frame sizes"): small(x, x[..., :32])
    with pytest.raises(ShapeError, match="F21i"): small(x, x, None, torch.zeros(1, 3, 64, 96))
    with pytest.raises(ShapeError, match="channels"): small(x[:, :2], x[:, :2])
    with pytest.raises(ShapeError, match="at least 64x64"): anime_interp("official")(x[..., :48, :], x[..., :48, :])

def test_interpolate_uint8_odd_sizes(small):
    fr1, fr2, fl12, fl21 = cartoon_pair()
    a, b = fr1[3:110, 5:142], fr2[3:110, 5:142]                  # 107 x 137: padded to 108 x 140 and cropped back
    mid = interpolate(small, a, b, flow13=fl12[3:110, 5:142], flow31=fl21[3:110, 5:142])
    assert mid.shape == (107, 137, 3) and mid.dtype == np.uint8
    frames = interpolate(small, a, b, n=3)
    assert len(frames) == 3 and all(f.shape == (107, 137, 3) for f in frames)
    assert not np.array_equal(frames[0], frames[2])
    with pytest.raises(ShapeError, match="at least 32x32"): interpolate(small, a[:30], b[:30])
    with pytest.raises(ShapeError, match="frames' size"): interpolate(small, a, b, flow13=fl12)
    with pytest.raises(InputError, match="either t or n"): interpolate(small, a, b, t=0.2, n=2)
    with pytest.raises(InputError, match=r"\[0, 1\]"): interpolate(small, a, b, t=1.2)
    with pytest.raises(ShapeError, match="mismatched sizes"): interpolate(small, a, b[:100])

def test_t_endpoints_return_the_warped_inputs(small):
    "At t = 0 frame 1 is not moved at all: I1t equals I1 exactly and covers every pixel."
    x1, x2 = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    with torch.no_grad(): out = small(x1, x2, t=0.0)
    assert torch.allclose(out.I1t, x1, atol=1e-6) and (out.cover1 > 0).all()

def test_per_sample_t_and_shared_motion(small):
    "t may be a tensor (one value per sample); synthesize reuses one motion estimate for any t."
    g = torch.Generator().manual_seed(3)
    x1, x2 = torch.rand(2, 3, 64, 64, generator=g), torch.rand(2, 3, 64, 64, generator=g)
    with torch.no_grad():
        both = small(x1, x2, t=torch.tensor([0.25, 0.75]))
        motion = small.estimate_motion(x1, x2)
        a, b = small.synthesize(x1, x2, motion, 0.25), small.synthesize(x1, x2, motion, 0.75)
    torch.testing.assert_close(both.It, torch.cat([a.It[:1], b.It[1:]]), atol=1e-5, rtol=0)

def test_config_roundtrip_and_presets():
    from dataclasses import asdict
    import json
    for cfg in (AnimeInterpConfig.official(), AnimeInterpConfig.small()):
        assert AnimeInterpConfig(**json.loads(json.dumps(asdict(cfg)))) == cfg
    assert not hasattr(anime_interp("small").flownet, "attention2")
    with pytest.raises(InputError): anime_interp("huge")


# ---------------------------------------------------------------- training
def test_small_forward_backward_reaches_every_parameter():
    torch.manual_seed(0)
    m = anime_interp("small").train()
    g = torch.Generator().manual_seed(0)
    I1, I2, I3 = (torch.rand(2, 3, 64, 64, generator=g) for _ in range(3))
    F12i = torch.randn(2, 2, 64, 64, generator=g)
    out = m(I1, I3, F12i, -F12i, t=0.5)
    loss = (out.It - I2).abs().mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())
    # the PReLU slope in front of GridNet's frame input only acts on negative values, and warped frames lie in [0, 1]:
    # its gradient is structurally zero (in the official model too). Every other parameter must learn.
    zero = [k for k, p in m.named_parameters() if p.grad.abs().sum() == 0]
    assert zero == ["synnet.residual_model_head.0.weight"], f"no gradient reaches {zero}"
    opt = torch.optim.Adam(m.parameters(), 1e-3); opt.step()
    with torch.no_grad(): assert torch.isfinite(m(I1, I3, F12i, -F12i).It).all()

# ---------------------------------------------------------------- filling the splatting holes (AnimeInterpConfig.fill_holes)

def test_fill_holes_known_values():
    from synthlab.anime.model import fill_holes, splat_blend
    I1, I3 = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    I1t, I3t = torch.full((1, 3, 4, 4), 0.2), torch.full((1, 3, 4, 4), 0.8)
    c1, c3 = torch.ones(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
    c1[..., 0, 0] = 0; c1[..., 1, 1] = c3[..., 1, 1] = 0; c1[..., 3, 3] = 0.5; c3[..., 2, 2] = 3.0
    f1, f3 = fill_holes(I1, I3, I1t, I3t, c1, c3, t=0.25)
    assert torch.allclose(f1[..., 0, 0], torch.tensor(0.8)) and torch.allclose(f3[..., 0, 0], torch.tensor(0.8))
    assert torch.allclose(f1[..., 1, 1], torch.tensor(0.25)) and torch.allclose(f3[..., 1, 1], torch.tensor(0.25))
    assert torch.allclose(f1[..., 2, 2], torch.tensor(0.2)) and torch.allclose(f3[..., 2, 2], torch.tensor(0.8))  # capped at 1
    blend = (0.75 * 0.5 * 0.2 + 0.25 * 0.8) / (0.75 * 0.5 + 0.25)
    assert torch.allclose(f1[..., 3, 3], torch.tensor(0.5 * 0.2 + 0.5 * blend))
    fb = torch.full_like(I1, -1.0)
    assert torch.equal(splat_blend(I1t, I3t, c1, c3, 0.25, fb)[..., 1, 1], fb[..., 1, 1])
    # a batch of times (B, 1, 1, 1) works as the model passes it
    f1b, _ = fill_holes(I1.expand(2, -1, -1, -1), I3.expand(2, -1, -1, -1), I1t.expand(2, -1, -1, -1), I3t.expand(2, -1, -1, -1),
                        c1.expand(2, -1, -1, -1), c3.expand(2, -1, -1, -1), torch.tensor([0.25, 0.75]).view(2, 1, 1, 1))
    assert torch.allclose(f1b[0], f1[0]) and torch.allclose(f1b[1, :, 1, 1], torch.tensor(0.75))

def test_fill_holes_config_round_trip():
    import json
    from dataclasses import asdict
    cfg = AnimeInterpConfig.small(); cfg.fill_holes = True
    assert AnimeInterpConfig(**json.loads(json.dumps(asdict(cfg)))) == cfg
    assert not AnimeInterpConfig.official().fill_holes

def test_guide_input_starts_at_the_dis_baseline():
    "With `guide_input` and `blend_init_`, the untrained guided model outputs the DIS baseline exactly, at any t."
    from synthlab.anime.train import guided_anime_interp, blend_init_
    from synthlab.anime.baselines import DISInterpolator
    from synthlab.anime.data import make_triplet
    from synthlab.core import img2tensor
    torch.manual_seed(0)
    m = blend_init_(guided_anime_interp("small", "dis", guide_input=True)).eval()
    assert m.synnet.residual_model_head[1].in_channels == 9 and anime_interp("small").synnet.residual_model_head[1].in_channels == 6
    T = make_triplet(4, (128, 96), level=1)
    I1, I3 = img2tensor([T.frame1, T.frame3]).split(1)
    dis = DISInterpolator()
    F13, F31 = dis.flows(I1, I3)
    for t in (0.5, 0.3):
        with torch.no_grad(): o = m(I1, I3, t=t)
        torch.testing.assert_close(o.It.clamp(0, 1), dis.warp(I1, I3, F13, F31, t), atol=1e-5, rtol=0)
    # the guide blend follows the frames through the reduced-resolution mode, and is the plain blend without a guide
    m.scale = 0.5
    with torch.no_grad(): assert m(I1, I3).It.shape == I1.shape
    m.scale = 1.0
    mz = blend_init_(guided_anime_interp("small", "zero", guide_input=True)).eval()
    with torch.no_grad(): torch.testing.assert_close(mz(I1, I3).It, 0.5 * (I1 + I3), atol=1e-5, rtol=0)

# ---------------------------------------------------------------- brightness-normalised flow input (AnimeInterpConfig.flow_norm)

def test_normalize_pair_known_values():
    from synthlab.anime.model import normalize_pair, FLOW_NORM_STATS
    g = torch.Generator().manual_seed(0)
    I1, I2 = torch.rand(2, 3, 8, 8, generator=g) * 0.3, torch.rand(2, 3, 8, 8, generator=g) * 0.3   # a dark pair
    a, b = normalize_pair(I1, I2)
    x = torch.cat([a, b], 1)
    torch.testing.assert_close(x.mean((1, 2, 3)), torch.full((2,), FLOW_NORM_STATS[0]), atol=1e-6, rtol=0)
    torch.testing.assert_close(x.std((1, 2, 3)), torch.full((2,), FLOW_NORM_STATS[1]), atol=1e-6, rtol=0)
    # one affine map for both frames: their difference is only rescaled, never shifted
    torch.testing.assert_close(a - b, (I1 - I2) * (0.2 / torch.cat([I1, I2], 1).std((1, 2, 3)).view(2, 1, 1, 1)), atol=1e-6, rtol=0)
    # invariant to any brightness gain and offset of the pair (above the minimum contrast)
    a2, b2 = normalize_pair(0.8 * I1 + 0.4, 0.8 * I2 + 0.4)
    torch.testing.assert_close(a2, a, atol=1e-5, rtol=0); torch.testing.assert_close(b2, b, atol=1e-5, rtol=0)
    # a flat pair is not blown up: the gain is capped at std / min_std
    c, _ = normalize_pair(torch.full((1, 3, 4, 4), 0.1), torch.full((1, 3, 4, 4), 0.1))
    torch.testing.assert_close(c, torch.full((1, 3, 4, 4), FLOW_NORM_STATS[0]))
    n1, n2 = torch.full((1, 3, 4, 4), 0.1), torch.full((1, 3, 4, 4), 0.1); n2[..., 0, 0] = 0.11
    assert (normalize_pair(n1, n2)[1] - normalize_pair(n1, n2)[0]).abs().max() <= 0.01 * 0.2 / 0.05 + 1e-6

def test_normalize_pair_gradcheck():
    from synthlab.anime.model import normalize_pair
    g = torch.Generator().manual_seed(1)
    I1, I2 = (torch.rand(1, 3, 3, 3, generator=g, dtype=torch.float64).requires_grad_() for _ in range(2))
    assert torch.autograd.gradcheck(lambda a, b: normalize_pair(a, b), (I1, I2))

def test_flow_norm_makes_rfr_brightness_invariant():
    "With `flow_norm`, RFR's flows do not change when the pair is darkened by a gain and offset; without it they do."
    torch.manual_seed(0)
    cfg = AnimeInterpConfig.small(); cfg.flow_norm = True
    m = AnimeInterp(cfg).eval()
    fr1, fr2, _, _ = cartoon_pair()
    I1, I2 = (torch.from_numpy(f).permute(2, 0, 1)[None].float() / 255 for f in (fr1, fr2))
    dark = lambda x: 0.3 * x + 0.05
    with torch.no_grad():
        a, b = m.estimate_motion(I1, I2), m.estimate_motion(dark(I1), dark(I2))
        torch.testing.assert_close(b.F12, a.F12, atol=1e-3, rtol=0)
        m.cfg.flow_norm = False
        c, d = m.estimate_motion(I1, I2), m.estimate_motion(dark(I1), dark(I2))
    assert (d.F12 - c.F12).abs().max() > 1e-2
    assert not AnimeInterpConfig.official().flow_norm and not AnimeInterpConfig.small().flow_norm   # off unless asked
