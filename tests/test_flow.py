"Tests for synthlab.flow: warps, splats, colour wheel, EPE, DIS and .flo files."
import math
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from synthlab.core import ShapeError, InputError, FileFormatError, MissingFileError, OverwriteError, SynthlabError
from synthlab.flow import (coords_grid, backward_warp, backward_blend, forward_splat, splat_coverage, flow_to_color, make_colorwheel,
                           color_wheel_legend, show_flow, epe, dis_flow, read_flo, write_flo, synthetic_flow,
                           flow2tensor, tensor2flow, FLO_MAGIC)

torch.set_num_threads(1)


def const_flow(b, h, w, dx, dy, dtype=torch.float32):
    f = torch.zeros(b, 2, h, w, dtype=dtype)
    f[:, 0], f[:, 1] = dx, dy
    return f


@pytest.fixture
def img():
    return torch.rand(2, 3, 20, 28, generator=torch.Generator().manual_seed(0))


# ---------------------------------------------------------------- coords / conversions
def test_coords_grid():
    g = coords_grid(2, 3, 4)
    assert g.shape == (2, 2, 3, 4) and g.dtype == torch.float32
    assert g[1, 0, 2, 3] == 3 and g[1, 1, 2, 3] == 2  # channel 0 = x (column), 1 = y (row)
    assert torch.equal(g[0, 0, 0], torch.arange(4.)) and torch.equal(g[0, 1, :, 0], torch.arange(3.))
    with pytest.raises(InputError):
        coords_grid(1, 0, 3)


def test_flow2tensor_roundtrip_and_errors():
    f = np.random.default_rng(0).normal(size=(5, 6, 2)).astype(np.float32)
    t = flow2tensor(f)
    assert t.shape == (1, 2, 5, 6) and t[0, 0, 2, 3] == f[2, 3, 0] and t[0, 1, 2, 3] == f[2, 3, 1]
    np.testing.assert_array_equal(tensor2flow(t), f)
    np.testing.assert_array_equal(tensor2flow(t[0]), f)
    with pytest.raises(ShapeError, match="transpose"):
        flow2tensor(np.zeros((2, 5, 6)))
    with pytest.raises(ShapeError):
        flow2tensor(torch.zeros(1, 3, 5, 6))
    with pytest.raises(ShapeError, match="batch"):
        tensor2flow(torch.zeros(2, 2, 5, 6))


# ---------------------------------------------------------------- backward warp
@pytest.mark.parametrize("padding", ["border", "zeros", "reflection"])
@pytest.mark.parametrize("align", [True, False])
def test_backward_warp_identity_exact(img, padding, align):
    out = backward_warp(img, torch.zeros(2, 2, 20, 28), padding_mode=padding, align_corners=align)
    assert torch.equal(out, img)


def test_backward_warp_identity_exact_large():
    x = torch.rand(1, 2, 40, 448)  # grid_sample's [-1,1] round trip is ~1e-5 off here; ours is exact
    assert torch.equal(backward_warp(x, torch.zeros(1, 2, 40, 448)), x)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("dx,dy", [(3, 2), (-2, 1), (0, -4)])
def test_backward_warp_integer_shift(img, mode, dx, dy):
    out = backward_warp(img, const_flow(2, 20, 28, dx, dy), mode=mode)
    H, W = 20, 28
    ys, xs = slice(max(0, -dy), H - max(0, dy)), slice(max(0, -dx), W - max(0, dx))
    src_ys, src_xs = slice(ys.start + dy, ys.stop + dy), slice(xs.start + dx, xs.stop + dx)
    if mode == "bilinear":
        assert torch.equal(out[..., ys, xs], img[..., src_ys, src_xs])
    else:  # grid_sample path: exact up to coordinate rounding, nearest rounds it away
        assert torch.equal(out[..., ys, xs], img[..., src_ys, src_xs])


def test_backward_warp_half_pixel_and_border():
    x = torch.tensor([[[[0., 10, 20, 30]]]])
    out = backward_warp(x, const_flow(1, 1, 4, 0.5, 0))
    assert out[0, 0, 0].tolist() == [5., 15., 25., 30.]  # last one reads x=3.5 -> border clamps to 30
    out0 = backward_warp(x, const_flow(1, 1, 4, 0.5, 0), padding_mode="zeros")
    assert out0[0, 0, 0].tolist() == [5., 15., 25., 15.]  # half of 30 + half of zero padding


@pytest.mark.parametrize("padding", ["border", "zeros", "reflection"])
@pytest.mark.parametrize("align", [True, False])
def test_backward_warp_matches_grid_sample(padding, align):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(2, 3, 9, 13, generator=g, dtype=torch.float64)
    flow = torch.randn(2, 2, 9, 13, generator=g, dtype=torch.float64) * 6  # many samples leave the frame
    q = coords_grid(2, 9, 13, torch.float64) + flow
    if align:
        grid = torch.stack((2 * q[:, 0] / 12 - 1, 2 * q[:, 1] / 8 - 1), -1)
    else:
        grid = torch.stack(((2 * q[:, 0] + 1) / 13 - 1, (2 * q[:, 1] + 1) / 9 - 1), -1)
    ref = F.grid_sample(x, grid, mode="bilinear", padding_mode=padding, align_corners=align)
    out = backward_warp(x, flow, padding_mode=padding, align_corners=align)
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=0)


def test_backward_warp_mask():
    x = torch.rand(1, 1, 6, 8)
    _, m = backward_warp(x, const_flow(1, 6, 8, 2, -1), return_mask=True)
    assert m.shape == (1, 1, 6, 8)
    expect = torch.zeros(6, 8); expect[1:, :6] = 1  # x+2 <= 7 -> x <= 5 ; y-1 >= 0 -> y >= 1
    assert torch.equal(m[0, 0], expect)
    _, m = backward_warp(x, const_flow(1, 6, 8, 0.5, 0), return_mask=True)
    assert m[0, 0, :, -1].max() == 0 and m[0, 0, :, :-1].min() == 1


def test_backward_warp_batch_broadcast(img):
    f = const_flow(1, 20, 28, 1, 0)
    out = backward_warp(img, f)
    assert out.shape == img.shape and torch.equal(out[..., :-1], img[..., 1:])


def test_backward_warp_bicubic_smoke(img):
    out = backward_warp(img, torch.zeros(2, 2, 20, 28), mode="bicubic")
    torch.testing.assert_close(out, img, atol=1e-4, rtol=0)


def test_backward_warp_errors(img):
    with pytest.raises(ShapeError, match=r"\(B, 2, H, W\)"):
        backward_warp(img, torch.zeros(2, 3, 20, 28))
    with pytest.raises(ShapeError, match="resize the flow"):
        backward_warp(img, torch.zeros(2, 2, 20, 27))
    with pytest.raises(ShapeError, match="batch"):
        backward_warp(img, torch.zeros(3, 2, 20, 28))
    with pytest.raises(ShapeError):
        backward_warp(img[0], torch.zeros(2, 2, 20, 28))
    with pytest.raises(InputError, match="flow2tensor"):
        backward_warp(img, np.zeros((20, 28, 2), np.float32))
    with pytest.raises(InputError, match="NaN"):
        backward_warp(img, torch.full((2, 2, 20, 28), float("nan")))
    with pytest.raises(InputError, match="mode"):
        backward_warp(img, torch.zeros(2, 2, 20, 28), mode="area")
    with pytest.raises(InputError, match="padding_mode"):
        backward_warp(img, torch.zeros(2, 2, 20, 28), padding_mode="wrap")


def _off_integer_flow(shape, seed):
    "Random flow whose sample positions stay >= 0.1 px away from integer coordinates (kinks of bilinear interpolation)."
    g = torch.Generator().manual_seed(seed)
    whole = torch.randint(-2, 3, shape, generator=g).double()
    return (whole + 0.1 + 0.8 * torch.rand(shape, generator=g, dtype=torch.float64)).requires_grad_()


@pytest.mark.parametrize("padding", ["zeros", "border"])
def test_backward_warp_gradcheck(padding):
    x = torch.rand(1, 2, 5, 6, dtype=torch.float64, requires_grad=True)
    flow = _off_integer_flow((1, 2, 5, 6), 3)
    assert torch.autograd.gradcheck(lambda a, b: backward_warp(a, b, padding_mode=padding), (x, flow))


def test_backward_blend_known_values():
    x = torch.rand(2, 3, 20, 30, dtype=torch.float64)
    fl = torch.zeros(2, 2, 20, 30, dtype=torch.float64); fl[:, 0] = 4          # frame 3 = frame 1 moved 4 px right
    I3 = torch.roll(x, 4, dims=-1)
    mid = backward_blend(x, I3, fl, -fl, 0.5)
    assert torch.allclose(mid[..., 6:-6], torch.roll(x, 2, dims=-1)[..., 6:-6])
    z = torch.zeros_like(fl)
    assert torch.equal(backward_blend(x, I3, z, z, 0.25), 0.75 * x + 0.25 * I3)           # no motion: the plain blend
    t = torch.tensor([0.0, 1.0], dtype=torch.float64).view(2, 1, 1, 1)                    # a time per batch item
    out = backward_blend(x, I3, fl, -fl, t)
    assert torch.equal(out[0], x[0]) and torch.equal(out[1], I3[1])

def test_backward_blend_errors_and_gradients():
    x = torch.rand(1, 3, 8, 9, dtype=torch.float64, requires_grad=True)
    fl = (torch.rand(1, 2, 8, 9, dtype=torch.float64) * 2 - 1).requires_grad_()
    with pytest.raises(ShapeError): backward_blend(x, x, fl[..., :5], fl, 0.5)
    assert torch.autograd.gradcheck(lambda a, f: backward_blend(a, a.flip(-1), f, -f, 0.3), (x, fl))

# ---------------------------------------------------------------- forward splat
@pytest.mark.parametrize("dx,dy", [(3, 2), (-2, 1), (0, -4)])
@pytest.mark.parametrize("mode", ["sum", "average"])
def test_forward_splat_integer_shift_exact(img, dx, dy, mode):
    out = forward_splat(img, const_flow(2, 20, 28, dx, dy), mode=mode)
    H, W = 20, 28
    dst_y, dst_x = slice(max(0, dy), H + min(0, dy)), slice(max(0, dx), W + min(0, dx))
    src_y, src_x = slice(max(0, -dy), H - max(0, dy)), slice(max(0, -dx), W - max(0, dx))
    assert torch.equal(out[..., dst_y, dst_x], img[..., src_y, src_x])
    hole = torch.ones(H, W, dtype=torch.bool); hole[dst_y, dst_x] = False
    assert out[..., hole].abs().max() == 0  # what nobody lands on stays 0


def test_forward_splat_known_bilinear_weights():
    x = torch.zeros(1, 1, 4, 4); x[0, 0, 1, 1] = 16.
    f = torch.zeros(1, 2, 4, 4); f[0, 0, 1, 1] = 0.25; f[0, 1, 1, 1] = 0.5  # target (1.25, 1.5)
    out = forward_splat(x, f)
    expect = torch.zeros(4, 4)
    expect[1, 1], expect[1, 2], expect[2, 1], expect[2, 2] = 16 * .75 * .5, 16 * .25 * .5, 16 * .75 * .5, 16 * .25 * .5
    assert torch.equal(out[0, 0], expect)
    # average: the zeros staying in place also land there (weight 1 each): 16*w / (w + 1)
    avg = forward_splat(x, f, mode="average")[0, 0]
    torch.testing.assert_close(avg[1, 2], torch.tensor(16 * .125 / 1.125))
    f2 = f.clone(); f2[0, 0] += 100; f2[0, 0, 1, 1] = 0.25  # everyone else leaves the frame
    assert torch.equal(forward_splat(x, f2, mode="average")[0, 0][expect > 0], torch.full((4,), 16.))


def test_splat_of_constant_is_constant_times_coverage():
    g = torch.Generator().manual_seed(2)
    f = torch.randn(2, 2, 16, 18, generator=g) * 3
    out, cov = forward_splat(torch.full((2, 4, 16, 18), 2.5), f, return_coverage=True)
    assert cov.shape == (2, 1, 16, 18)
    torch.testing.assert_close(out, 2.5 * cov.expand_as(out), atol=1e-5, rtol=0)
    torch.testing.assert_close(forward_splat(torch.ones(2, 1, 16, 18), f), cov, atol=0, rtol=0)
    torch.testing.assert_close(splat_coverage(f), cov, atol=0, rtol=0)


def test_coverage_conserves_mass():
    # every source hands out weight 1; with all targets inside, coverage sums to H*W
    f = synthetic_flow(24, 24, "zoom", 0.7)  # shrinking: every target stays inside
    cov = splat_coverage(f)
    assert cov.max() > 1  # and some targets receive more than one source's worth
    assert abs(cov.sum().item() - 24 * 24) < 1e-3
    # everything pushed out of the frame: dropped
    out, cov = forward_splat(torch.rand(1, 3, 8, 8), const_flow(1, 8, 8, 100.5, -3), return_coverage=True)
    assert out.abs().max() == 0 and cov.abs().max() == 0


def test_average_and_sum_relations():
    g = torch.Generator().manual_seed(4)
    x = torch.rand(1, 3, 16, 18, generator=g)
    f = torch.randn(1, 2, 16, 18, generator=g) * 2
    s, cov = forward_splat(x, f, return_coverage=True)
    a = forward_splat(x, f, mode="average")
    covered = (cov > 1e-7).expand_as(s)
    torch.testing.assert_close(a[covered], (s / cov.clamp_min(1e-7))[covered], atol=1e-5, rtol=1e-5)
    assert a[~covered].abs().max() == 0
    c = forward_splat(torch.full_like(x, 0.3), f, mode="average")
    torch.testing.assert_close(c[covered], torch.full_like(c[covered], 0.3), atol=1e-6, rtol=0)
    # the average of values in [0, 1] stays in [0, 1]
    assert a.min() >= 0 and a.max() <= 1 + 1e-6
    # softmax with a constant metric is average splatting; a weight of 2 everywhere changes 'sum' by 2x, not 'average'
    sm = forward_splat(x, f, mode="softmax", metric=torch.full((1, 1, 16, 18), 7.))
    torch.testing.assert_close(sm, a, atol=1e-5, rtol=1e-5)
    w2 = torch.full((1, 1, 16, 18), 2.)
    torch.testing.assert_close(forward_splat(x, f, weight=w2), 2 * s, atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(forward_splat(x, f, weight=w2, mode="average"), a, atol=1e-6, rtol=1e-6)


def test_average_eps_zero_matches_animeinterp_rule():
    # AnimeInterp: splat x and ones, divide where norm > 0
    g = torch.Generator().manual_seed(5)
    x = torch.rand(1, 4, 12, 15, generator=g)
    f = torch.randn(1, 2, 12, 15, generator=g) * 3
    s, norm = forward_splat(x, f, return_coverage=True)
    ref = s.clone(); m = (norm > 0).expand_as(s)
    ref[m] = s[m] / norm.expand_as(s)[m]
    torch.testing.assert_close(forward_splat(x, f, mode="average", eps=0), ref, atol=1e-6, rtol=1e-6)


def test_softmax_picks_larger_metric():
    x = torch.tensor([[[[1., 0, 5, 0]]]])
    f = torch.zeros(1, 2, 1, 4); f[0, 0, 0, 0] = 2  # source 0 lands on pixel 2, where source 2 stays
    z = torch.zeros(1, 1, 1, 4)
    z[0, 0, 0, 0] = 10.
    assert abs(forward_splat(x, f, mode="softmax", metric=z)[0, 0, 0, 2].item() - (math.e ** 10 + 5) / (math.e ** 10 + 1)) < 1e-5
    z[0, 0, 0, 0] = -10.
    assert abs(forward_splat(x, f, mode="softmax", metric=z)[0, 0, 0, 2].item() - 5) < 1e-3
    assert forward_splat(x, f, mode="average")[0, 0, 0, 2].item() == 3.
    # metrics far beyond float32's exp range: the per-target max shift keeps it finite and exact
    z[0, 0, 0, 0], z[0, 0, 0, 2] = 1000., 900.
    out = forward_splat(x, f, mode="softmax", metric=z)
    assert torch.isfinite(out).all() and out[0, 0, 0, 2].item() == 1.
    z[0, 0, 0, 0], z[0, 0, 0, 2] = -1000., -1000.  # both tiny: equal weights, not 0/0
    assert forward_splat(x, f, mode="softmax", metric=z)[0, 0, 0, 2].item() == 3.


def test_softmax_isolated_low_metric_pixel_not_a_hole():
    # a lone source with a metric 500 below the image max must still land (a global max shift would underflow it)
    x = torch.tensor([[[[2., 7.]]]])
    z = torch.tensor([[[[0., -500.]]]])
    out = forward_splat(x, torch.zeros(1, 2, 1, 2), mode="softmax", metric=z)
    assert out[0, 0, 0].tolist() == [2., 7.]


def test_forward_and_backward_agree_on_translation(img):
    fwd = forward_splat(img, const_flow(2, 20, 28, 2, 3))
    bwd = backward_warp(img, const_flow(2, 20, 28, -2, -3))
    assert torch.equal(fwd[..., 3:, 2:], bwd[..., 3:, 2:])


def test_forward_splat_errors(img):
    f = torch.zeros(2, 2, 20, 28)
    with pytest.raises(InputError, match="needs a metric"):
        forward_splat(img, f, mode="softmax")
    with pytest.raises(InputError, match="only used"):
        forward_splat(img, f, metric=torch.zeros(2, 1, 20, 28))
    with pytest.raises(InputError, match="mode"):
        forward_splat(img, f, mode="max")
    with pytest.raises(ShapeError, match="metric"):
        forward_splat(img, f, mode="softmax", metric=torch.zeros(2, 3, 20, 28))
    with pytest.raises(ShapeError, match="weight"):
        forward_splat(img, f, weight=torch.zeros(2, 1, 20, 29))
    with pytest.raises(ShapeError):
        forward_splat(img, torch.zeros(2, 1, 20, 28))
    with pytest.raises(ShapeError, match="resize"):
        forward_splat(img, torch.zeros(2, 2, 10, 14))
    with pytest.raises(InputError, match="NaN"):
        forward_splat(img, torch.full((2, 2, 20, 28), float("inf")))
    with pytest.raises(InputError, match="float"):
        forward_splat(img.long(), f)
    with pytest.raises(InputError, match="eps"):
        forward_splat(img, f, mode="average", eps=-1)


@pytest.mark.parametrize("mode", ["sum", "average", "softmax"])
def test_forward_splat_gradcheck(mode):
    g = torch.Generator().manual_seed(6)
    x = torch.rand(1, 2, 4, 5, generator=g, dtype=torch.float64).requires_grad_()
    flow = _off_integer_flow((1, 2, 4, 5), 7)
    if mode == "softmax":
        z = torch.randn(1, 1, 4, 5, generator=g, dtype=torch.float64).requires_grad_()
        fn = lambda a, b, c: forward_splat(a, b, mode=mode, metric=c)
        assert torch.autograd.gradcheck(fn, (x, flow, z))
    else:
        assert torch.autograd.gradcheck(lambda a, b: forward_splat(a, b, mode=mode), (x, flow))


@pytest.mark.parametrize("mode", ["sum", "average", "softmax"])
def test_forward_splat_inference_path_equals_autograd_path(mode):
    "No-grad splatting (reused buffer + index_put_) gives the very floats of the autograd path (index_add_)."
    g = torch.Generator().manual_seed(5)
    x, f = torch.rand(2, 4, 12, 15, generator=g), 3 * torch.randn(2, 2, 12, 15, generator=g)
    kw = dict(metric=torch.randn(2, 1, 12, 15, generator=g)) if mode == "softmax" else {}
    xg = x.clone().requires_grad_()
    with_grad, cov_g = forward_splat(xg, f, mode=mode, return_coverage=True, weight=torch.rand(2, 1, 12, 15, generator=g), **kw)
    assert with_grad.requires_grad
    g = torch.Generator().manual_seed(5)
    x, f = torch.rand(2, 4, 12, 15, generator=g), 3 * torch.randn(2, 2, 12, 15, generator=g)
    kw = dict(metric=torch.randn(2, 1, 12, 15, generator=g)) if mode == "softmax" else {}
    with torch.inference_mode():
        no_grad, cov_n = forward_splat(x, f, mode=mode, return_coverage=True, weight=torch.rand(2, 1, 12, 15, generator=g), **kw)
    assert torch.equal(with_grad.detach(), no_grad) and torch.equal(cov_g.detach(), cov_n)

def test_forward_splat_keeps_channels_last():
    "A channels-last input comes back channels-last (no copy in or out), with the same values; NCHW stays NCHW."
    g = torch.Generator().manual_seed(6)
    x, f = torch.rand(2, 5, 10, 13, generator=g), 2 * torch.randn(2, 2, 10, 13, generator=g)
    xc = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        a, cov = forward_splat(x, f, mode="average", eps=0, return_coverage=True)
        b = forward_splat(xc, f, mode="average", eps=0)
    assert a.is_contiguous() and b.is_contiguous(memory_format=torch.channels_last) and not b.is_contiguous()
    assert torch.equal(a, b)
    # average mode without weights: the coverage is the denominator, i.e. the sum-mode splat of ones
    torch.testing.assert_close(cov, forward_splat(torch.ones(2, 1, 10, 13), f), atol=0, rtol=0)

def test_forward_splat_grad_flows_to_flow():
    x = torch.rand(1, 3, 8, 8)
    f = torch.full((1, 2, 8, 8), 0.3, requires_grad=True)
    forward_splat(x, f, mode="average").sum().backward()
    assert f.grad is not None and torch.isfinite(f.grad).all() and f.grad.abs().sum() > 0


# ---------------------------------------------------------------- colour wheel
def test_colorwheel_definition():
    w = make_colorwheel()
    assert w.shape == (55, 3)
    assert w[0].tolist() == [255, 0, 0]            # red
    assert w[15].tolist() == [255, 255, 0]         # yellow starts YG
    assert w[21].tolist() == [0, 255, 0]           # green starts GC
    assert w[25].tolist() == [0, 255, 255]         # cyan starts CB
    assert w[36].tolist() == [0, 0, 255]           # blue starts BM
    assert w[49].tolist() == [255, 0, 255]         # magenta starts MR
    assert w[13].tolist() == [255, 221, 0] and w[14].tolist() == [255, 238, 0]


def test_flow_to_color_axis_values():
    # hand-computed in the notebook from the wheel: right, down, left, up, zero
    f = np.array([[[1, 0], [0, 1], [-1, 0], [0, -1], [0, 0]]], np.float32)
    expect = [[255, 0, 0], [255, 229, 0], [0, 209, 255], [88, 0, 255], [255, 255, 255]]
    out = flow_to_color(f)
    assert out.dtype == np.uint8 and out.shape == (1, 5, 3)
    assert out[0].tolist() == expect
    # scale invariant with automatic normalisation; torch layouts give the same picture
    assert flow_to_color(f * 7.5).tolist() == out.tolist()
    t = torch.from_numpy(f).permute(2, 0, 1)
    assert flow_to_color(t).tolist() == out.tolist() and flow_to_color(t[None]).tolist() == out.tolist()
    # a negative zero in v must not turn "right" into the wheel's other end
    assert flow_to_color(np.array([[[1.0, -0.0]]]))[0, 0].tolist() == [255, 0, 0]


def test_flow_to_color_magnitude_and_max_flow():
    assert flow_to_color(np.array([[[0.5, 0]]]), max_flow=1.0)[0, 0].tolist() == [255, 127, 127]  # 1 - 0.5*(1-0) -> 127.5
    assert flow_to_color(np.array([[[2.0, 0]]]), max_flow=1.0)[0, 0].tolist() == [191, 0, 0]      # 0.75*255 = 191.25
    assert flow_to_color(np.zeros((3, 4, 2)))[..., :].min() == 255                                 # all zero: white
    nanflow = np.array([[[np.nan, 0], [1, 0]]])
    assert flow_to_color(nanflow)[0].tolist() == [[0, 0, 0], [255, 0, 0]]
    with pytest.raises(InputError):
        flow_to_color(np.zeros((2, 2, 2)), max_flow=0)
    with pytest.raises(ShapeError):
        flow_to_color(np.zeros((2, 4, 4)))
    with pytest.raises(ShapeError, match="batch"):
        flow_to_color(torch.zeros(2, 2, 4, 4))


def test_color_wheel_legend():
    leg = color_wheel_legend(65)
    assert leg.shape == (65, 65, 3) and leg.dtype == np.uint8
    assert leg[32, 32].tolist() == [255, 255, 255]  # centre: no motion
    assert leg[32, 64].tolist() == [255, 0, 0]      # right rim: red
    assert leg[64, 32].tolist() == [255, 229, 0]    # bottom rim: flow (0, +1)
    assert leg[0, 0].tolist() == [255, 255, 255]    # outside the disc
    with pytest.raises(InputError):
        color_wheel_legend(1)


def test_show_flow_returns_figure():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    f = synthetic_flow(32, 40, "rotate", 15)
    fig = show_flow(f, step=8, title="rot")
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "rot" and len(ax.collections) == 1  # the quiver
    fig2, ax2 = plt.subplots()
    img = np.zeros((32, 40, 3), np.uint8)
    assert show_flow(tensor2flow(f), image=img, ax=ax2, arrows=False) is fig2
    with pytest.raises(ShapeError):
        show_flow(f, image=np.zeros((10, 10, 3), np.uint8))
    plt.close("all")


# ---------------------------------------------------------------- EPE
def test_epe_hand_values():
    pred = torch.zeros(1, 2, 2, 2); gt = torch.zeros(1, 2, 2, 2)
    pred[0, 0, 0, 0], pred[0, 1, 0, 0] = 3, 4          # 3-4-5 triangle
    pred[0, 0, 1, 1], gt[0, 0, 1, 1] = 1, -1           # 2 px off horizontally
    assert epe(pred, gt).item() == pytest.approx(7 / 4)
    assert epe(pred, gt, reduce="sum").item() == pytest.approx(7)
    assert epe(pred, gt, reduce=None).tolist() == [[[5., 0.], [0., 2.]]]
    m = torch.tensor([[[1., 0.], [0., 1.]]])
    assert epe(pred, gt, mask=m).item() == pytest.approx(3.5)
    assert epe(pred, gt, mask=m[:, None]).item() == pytest.approx(3.5)
    assert epe(pred[0], gt[0]).item() == pytest.approx(7 / 4)
    # NumPy in, NumPy/float out
    p, g = tensor2flow(pred), tensor2flow(gt)
    assert epe(p, g) == pytest.approx(7 / 4) and isinstance(epe(p, g), float)
    assert epe(p, g, reduce=None).tolist() == [[5., 0.], [0., 2.]]


def test_epe_errors():
    a = torch.zeros(1, 2, 3, 3)
    with pytest.raises(ShapeError):
        epe(a, torch.zeros(1, 2, 3, 4))
    with pytest.raises(ShapeError):
        epe(a, a, mask=torch.ones(1, 4, 4))
    with pytest.raises(InputError, match="no pixels"):
        epe(a, a, mask=torch.zeros(1, 3, 3))
    with pytest.raises(InputError):
        epe(a, a, reduce="median")


# ---------------------------------------------------------------- DIS
def _textured_pair(dx=3, dy=2, size=96, pad=8):
    import cv2
    rng = np.random.default_rng(0)
    tex = cv2.GaussianBlur(rng.random((size + 2 * pad, size + 2 * pad)).astype(np.float32), (0, 0), 2.0)
    tex = ((tex - tex.min()) / (tex.max() - tex.min()) * 255).astype(np.uint8)
    a0 = tex[pad:pad + size, pad:pad + size]
    a1 = tex[pad - dy:pad - dy + size, pad - dx:pad - dx + size]  # frame1(p) = frame0(p - (dx, dy))
    return a0, a1


def test_dis_flow_recovers_shift():
    a0, a1 = _textured_pair(3, 2)
    rgb0, rgb1 = np.repeat(a0[..., None], 3, -1), np.repeat(a1[..., None], 3, -1)
    fl = dis_flow(rgb0, rgb1)
    assert fl.shape == (96, 96, 2) and fl.dtype == np.float32
    med = np.median(fl[16:-16, 16:-16].reshape(-1, 2), 0)
    assert abs(med[0] - 3) < 0.5 and abs(med[1] - 2) < 0.5
    # SGM's settings and the ultrafast preset run too
    fl2 = dis_flow(a0, a1, preset="ultrafast", variational_refinement_iterations=25, finest_scale=0, gradient_descent_iterations=50)
    assert np.abs(np.median(fl2[16:-16, 16:-16].reshape(-1, 2), 0) - [3, 2]).max() < 0.5


def test_dis_flow_tensor_path():
    a0, a1 = _textured_pair(-2, 1, size=64)
    t0 = torch.from_numpy(np.repeat(a0[..., None], 3, -1)).permute(2, 0, 1)[None].float() / 255
    t1 = torch.from_numpy(np.repeat(a1[..., None], 3, -1)).permute(2, 0, 1)[None].float() / 255
    fl = dis_flow(t0, t1, preset="fast")
    assert isinstance(fl, torch.Tensor) and fl.shape == (1, 2, 64, 64) and fl.dtype == torch.float32
    np.testing.assert_array_equal(fl[0].permute(1, 2, 0).numpy(), dis_flow(a0, a1, preset="fast"))
    med = fl[0, :, 12:-12, 12:-12].reshape(2, -1).median(1).values
    assert abs(med[0] + 2) < 0.5 and abs(med[1] - 1) < 0.5


def test_dis_flow_errors():
    a = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ShapeError, match="same size"):
        dis_flow(a, np.zeros((32, 30, 3), np.uint8))
    with pytest.raises(ShapeError, match="same size"):
        dis_flow(torch.zeros(1, 3, 32, 32), torch.zeros(1, 3, 32, 30))
    with pytest.raises(ShapeError):
        dis_flow(np.zeros((32, 32, 4), np.uint8), np.zeros((32, 32, 4), np.uint8))
    with pytest.raises(InputError, match="preset"):
        dis_flow(a, a, preset="slow")
    with pytest.raises(InputError, match="unknown DIS setting"):
        dis_flow(a, a, patchsize=8)
    with pytest.raises(InputError, match="both"):
        dis_flow(a, torch.zeros(1, 3, 32, 32))


# ---------------------------------------------------------------- .flo
def test_flo_roundtrip(tmp_path):
    f = np.random.default_rng(1).normal(size=(7, 11, 2)).astype(np.float32)
    p = write_flo(f, tmp_path / "sub" / "a.flo")
    assert p.exists()
    data = p.read_bytes()
    assert data[:4] == b"PIEH" and np.frombuffer(data[:4], "<f4")[0] == FLO_MAGIC
    assert np.frombuffer(data[4:12], "<i4").tolist() == [11, 7]      # width first
    assert np.frombuffer(data[12:20], "<f4").tolist() == f[0, 0].tolist()  # (u, v) interleaved
    assert len(data) == 12 + 7 * 11 * 8
    np.testing.assert_array_equal(read_flo(p), f)
    t = torch.from_numpy(f).permute(2, 0, 1)[None]
    write_flo(t, tmp_path / "b.flo")
    np.testing.assert_array_equal(read_flo(tmp_path / "b.flo"), f)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["b.flo", "sub"]  # no temp files left behind


def test_flo_overwrite(tmp_path):
    f = np.zeros((2, 3, 2), np.float32)
    write_flo(f, tmp_path / "a.flo")
    with pytest.raises(OverwriteError, match="force=True"):
        write_flo(f + 1, tmp_path / "a.flo")
    assert read_flo(tmp_path / "a.flo").max() == 0
    write_flo(f + 1, tmp_path / "a.flo", force=True)
    assert read_flo(tmp_path / "a.flo").min() == 1


def test_flo_bad_files(tmp_path):
    good = tmp_path / "g.flo"
    write_flo(np.ones((4, 5, 2), np.float32), good)
    data = good.read_bytes()
    (tmp_path / "magic.flo").write_bytes(b"PIEX" + data[4:])
    (tmp_path / "trunc.flo").write_bytes(data[:-8])
    (tmp_path / "long.flo").write_bytes(data + b"\0" * 8)
    (tmp_path / "short.flo").write_bytes(data[:6])
    (tmp_path / "size.flo").write_bytes(data[:4] + np.array([-1, 5], "<i4").tobytes() + data[12:])
    for name, msg in [("magic", "magic"), ("trunc", "truncated"), ("long", "longer"), ("short", "too short"), ("size", "invalid size")]:
        with pytest.raises(FileFormatError, match=msg):
            read_flo(tmp_path / f"{name}.flo")
    with pytest.raises(MissingFileError):
        read_flo(tmp_path / "nope.flo")
    with pytest.raises(ShapeError):
        write_flo(np.zeros((4, 5, 3)), tmp_path / "x.flo")


# ---------------------------------------------------------------- synthetic flows
def test_synthetic_flow_values():
    t = synthetic_flow(4, 6, "translate", (2.5, -1))
    assert t.shape == (1, 2, 4, 6) and t.dtype == torch.float32
    assert (t[0, 0] == 2.5).all() and (t[0, 1] == -1).all()
    assert (synthetic_flow(4, 6, "translate", 3)[0, 1] == 0).all()
    r = synthetic_flow(5, 5, "rotate", 90)  # centre (2,2): (x=4,y=2) -> (2,4); (2,0) -> (4,2) : clockwise on screen
    torch.testing.assert_close(r[0, :, 2, 4], torch.tensor([-2., 2.]), atol=1e-6, rtol=0)
    torch.testing.assert_close(r[0, :, 0, 2], torch.tensor([2., 2.]), atol=1e-6, rtol=0)
    z = synthetic_flow(5, 5, "zoom", 1.5)
    torch.testing.assert_close(z[0, :, 4, 0], torch.tensor([-1., 1.]), atol=1e-6, rtol=0)
    s = synthetic_flow(9, 9, "swirl", 30)
    assert s[0, :, 4, 4].abs().max() < 1e-6 and s.abs().max() > 0.5
    # rotation preserves distance to the centre
    g = coords_grid(1, 9, 9) - 4
    r = synthetic_flow(9, 9, "rotate", 33)
    torch.testing.assert_close((g + r).norm(dim=1), g.norm(dim=1), atol=1e-5, rtol=0)
    with pytest.raises(InputError, match="kind"):
        synthetic_flow(4, 4, "shear")


def test_errors_are_synthlab_errors():
    with pytest.raises(SynthlabError):
        forward_splat(torch.zeros(1, 1, 2, 2), torch.zeros(1, 2, 3, 3))


# ---------------------------------------------------------------- forward splat, NumPy twin
@pytest.mark.parametrize("mode", ["sum", "average"])
def test_forward_splat_np_equals_forward_splat(mode):
    from synthlab.flow import forward_splat_np
    rng = np.random.default_rng(7)
    x, f = rng.random((18, 23, 3)), rng.normal(0, 3, (18, 23, 2))
    f[2, 3] = (-2.0, 1.0)                                            # an integer shift and out-of-frame targets too
    want = forward_splat(torch.from_numpy(x).permute(2, 0, 1)[None], torch.from_numpy(f).permute(2, 0, 1)[None], mode=mode)
    got = forward_splat_np(x, f, mode)
    assert got.shape == x.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, want[0].permute(1, 2, 0).numpy(), atol=1e-12)
    m = x[..., 0] > 0.5                                              # a 2-D boolean mask = its 0/1 floats
    np.testing.assert_allclose(forward_splat_np(m, f, mode), forward_splat_np(m.astype(float), f, mode), atol=1e-12)


def test_forward_splat_np_known_values_and_errors():
    from synthlab.flow import forward_splat_np
    x = np.zeros((4, 4)); x[1, 1] = 16.
    f = np.zeros((4, 4, 2)); f[1, 1] = (0.25, 0.5)                  # target (1.25, 1.5): weights .375 .125 .375 .125
    np.testing.assert_array_equal(forward_splat_np(x, f)[1:3, 1:3], [[6., 2.], [6., 2.]])
    avg = forward_splat_np(x, f, "average")                          # the zeros staying put weigh in: 16 w / (w + 1)
    assert avg[1, 2] == pytest.approx(16 * .125 / 1.125) and avg[0, 0] == 0
    with pytest.raises(ShapeError, match="same grid"): forward_splat_np(x, f[:3])
    with pytest.raises(InputError, match="softmax"): forward_splat_np(x, f, "softmax")
    f[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"): forward_splat_np(x, f)
