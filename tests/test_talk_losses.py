"Tests for synthlab.talk.losses: PC-AVS sync losses, multi-scale PatchGAN, hinge / feature-matching / perceptual losses."
import math
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from synthlab.core import ShapeError, InputError, CheckpointError
from synthlab.anime.sgm import VGG19Features
from synthlab.talk.losses import (ProbeAdversary, ridge_fit, av_logits, contrastive_av_loss, crossmodal_l1, DiscriminatorConfig, NLayerDiscriminator,
                                  MultiscaleDiscriminator, d_hinge_loss, g_hinge_loss, divide_pred, feature_matching_loss,
                                  VGG19Perceptual, perceptual_loss, VGG_LAYER_WEIGHTS, LossWeights, generator_losses,
                                  discriminator_losses, decorrelation_loss, invariance_loss)

torch.set_num_threads(1)


def _official_softmax_contrastive(f1, f2):
    "The released `SoftmaxContrastiveLoss.forward` written out (expand/transpose/torch.norm), as an independent reference."
    f1, f2 = F.normalize(f1, p=2, dim=1), F.normalize(f2, p=2, dim=1)
    feat = f1.expand(f1.size(0), f1.size(0), f1.size(1)).transpose(0, 1)
    dist = 1.0 / torch.norm(feat - f2, p=2, dim=2)
    return F.cross_entropy(dist, torch.arange(f1.size(0)))


@pytest.fixture(scope="module")
def small_D():
    torch.manual_seed(0)
    return MultiscaleDiscriminator(DiscriminatorConfig.small())


@pytest.fixture(scope="module")
def vgg():
    torch.manual_seed(0)
    return VGG19Perceptual()


class ConstD(nn.Module):
    "A stub discriminator: one scale, features [image, score map = mean over channels]."
    def forward(self, x): return [[x, x.mean(1, keepdim=True)]]


# ------------------------------------------------------------------------------------------------ contrastive sync loss
class TestContrastive:
    def test_smoke(self):
        out = contrastive_av_loss(torch.randn(5, 7), torch.randn(5, 7))
        assert list(out) == ["loss", "v2a", "a2v", "acc"]
        assert all(t.ndim == 0 and torch.isfinite(t) for t in out.values())

    def test_known_value_hand_batch(self):
        v = torch.tensor([[1., 0.], [0., 1.]])
        a = torch.tensor([[0.8, 0.6], [0.6, 0.8]])          # |v_i - a_i|^2 = 0.4, |v_i - a_j|^2 = 0.8
        ce = math.log(1 + math.exp(1 / math.sqrt(0.8) - 1 / math.sqrt(0.4)))
        out = contrastive_av_loss(v, a, weight=100)
        assert out["a2v"].item() == pytest.approx(ce, abs=1e-6)
        assert out["v2a"].item() == pytest.approx(ce, abs=1e-6)
        assert out["loss"].item() == pytest.approx(200 * ce, rel=1e-6)
        assert out["acc"].item() == 1.0
        assert contrastive_av_loss(v, a.flip(0))["acc"].item() == 0.0

    def test_known_logits(self):
        v = torch.tensor([[3., 0.], [0., 2.]])               # normalisation: the norms do not matter
        a = torch.tensor([[0., 5.], [1., 1.]])
        L = av_logits(v, a)
        expected = torch.tensor([[1 / math.sqrt(2), 1 / math.sqrt(2 - math.sqrt(2))],
                                 [1 / 1e-6, 1 / math.sqrt(2 - math.sqrt(2))]])
        torch.testing.assert_close(L, expected, rtol=1e-5, atol=0)

    def test_identical_features_hand_ce(self):
        v = torch.eye(3)                                     # v == a: diagonal distance 0 -> clamped at eps
        out = contrastive_av_loss(v, v.clone(), eps=0.5)     # diag logit 2, off-diagonal 1/sqrt(2)
        ce = math.log(1 + 2 * math.exp(1 / math.sqrt(2) - 2))
        assert out["a2v"].item() == pytest.approx(ce, abs=1e-6) and out["v2a"].item() == pytest.approx(ce, abs=1e-6)
        out = contrastive_av_loss(v, v.clone())              # default eps: finite, essentially zero
        assert torch.isfinite(out["loss"]) and out["loss"].item() == pytest.approx(0.0, abs=1e-6)
        assert out["acc"].item() == 1.0

    def test_matches_released_formula(self):
        g = torch.Generator().manual_seed(1)
        v, a = torch.randn(6, 12, generator=g), torch.randn(6, 12, generator=g)
        out = contrastive_av_loss(v, a, weight=100)
        ref_a2v, ref_v2a = _official_softmax_contrastive(v, a), _official_softmax_contrastive(a, v)
        assert out["a2v"].item() == pytest.approx(ref_a2v.item(), rel=1e-5)
        assert out["v2a"].item() == pytest.approx(ref_v2a.item(), rel=1e-5)
        assert out["loss"].item() == pytest.approx(100 * (ref_a2v + ref_v2a).item(), rel=1e-5)

    def test_symmetric_and_invariant(self):
        g = torch.Generator().manual_seed(2)
        v, a = torch.randn(5, 8, generator=g), torch.randn(5, 8, generator=g)
        fwd, bwd = contrastive_av_loss(v, a), contrastive_av_loss(a, v)
        assert fwd["v2a"].item() == pytest.approx(bwd["a2v"].item(), rel=1e-6)
        assert fwd["a2v"].item() == pytest.approx(bwd["v2a"].item(), rel=1e-6)
        assert fwd["loss"].item() == pytest.approx(bwd["loss"].item(), rel=1e-6)
        perm = torch.randperm(5, generator=g)                # relabelling the clips changes nothing
        assert contrastive_av_loss(v[perm], a[perm])["loss"].item() == pytest.approx(fwd["loss"].item(), rel=1e-5)
        assert contrastive_av_loss(3 * v, 0.1 * a)["loss"].item() == pytest.approx(fwd["loss"].item(), rel=1e-5)

    def test_clip_features_are_flattened(self):
        g = torch.Generator().manual_seed(3)
        v, a = torch.randn(4, 3, 8, generator=g), torch.randn(4, 3, 8, generator=g)
        flat = contrastive_av_loss(v.reshape(4, -1), a.reshape(4, -1))
        assert contrastive_av_loss(v, a)["loss"].item() == pytest.approx(flat["loss"].item(), rel=1e-6)

    def test_detach_semantics(self):
        v, a = torch.randn(4, 8, requires_grad=True), torch.randn(4, 8, requires_grad=True)
        out = contrastive_av_loss(v, a)
        gv, ga = torch.autograd.grad(out["v2a"], (v, a), allow_unused=True, retain_graph=True)
        assert ga is None and gv.abs().sum() > 0
        gv, ga = torch.autograd.grad(out["a2v"], (v, a), allow_unused=True, retain_graph=True)
        assert gv is None and ga.abs().sum() > 0
        gv, ga = torch.autograd.grad(out["loss"], (v, a))
        assert gv.abs().sum() > 0 and ga.abs().sum() > 0

    def test_gradcheck(self):
        g = torch.Generator().manual_seed(4)
        v = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
        a = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
        # each direction is an ordinary function of its live side (the other side is a constant there)
        assert torch.autograd.gradcheck(lambda v: contrastive_av_loss(v, a.detach())["v2a"], (v,))
        assert torch.autograd.gradcheck(lambda a: contrastive_av_loss(v.detach(), a)["a2v"], (a,))
        # the sum is *not* differentiated as a function: its gradient is each direction's gradient on its live side only
        gv, ga = torch.autograd.grad(contrastive_av_loss(v, a, weight=1.0)["loss"], (v, a))
        gv1, = torch.autograd.grad(contrastive_av_loss(v, a.detach())["v2a"], (v,))
        ga1, = torch.autograd.grad(contrastive_av_loss(v.detach(), a)["a2v"], (a,))
        torch.testing.assert_close(gv, gv1); torch.testing.assert_close(ga, ga1)

    def test_descent_aligns_pairs(self):
        torch.manual_seed(0)
        v, a = torch.randn(6, 8, requires_grad=True), torch.randn(6, 8, requires_grad=True)
        opt = torch.optim.SGD([v, a], lr=0.05)
        first = contrastive_av_loss(v, a)
        for _ in range(30):
            out = contrastive_av_loss(v, a); opt.zero_grad(); out["loss"].backward(); opt.step()
        assert out["loss"] < first["loss"] and out["acc"].item() == 1.0

    def test_exceptions(self):
        with pytest.raises(ShapeError, match="same shape"): contrastive_av_loss(torch.randn(4, 8), torch.randn(4, 7))
        with pytest.raises(ShapeError, match="at least 2"): contrastive_av_loss(torch.randn(1, 8), torch.randn(1, 8))
        with pytest.raises(ShapeError, match=r"\(B, D\)"): contrastive_av_loss(torch.randn(8), torch.randn(8))
        with pytest.raises(InputError, match="torch.Tensor"): contrastive_av_loss([[1., 2.]], torch.randn(1, 2))
        with pytest.raises(InputError, match="float"): contrastive_av_loss(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 3))


class TestCrossModal:
    def test_known_value_and_detach(self):
        v = torch.tensor([[0., 1.], [2., 3.]], requires_grad=True)
        a = torch.tensor([[1., 1.], [0., 3.]], requires_grad=True)
        loss = crossmodal_l1(v, a, weight=2.0)
        assert loss.item() == pytest.approx(2.0 * (1 + 0 + 2 + 0) / 4)
        gv, ga = torch.autograd.grad(loss, (v, a), allow_unused=True)
        assert gv is None and ga.abs().sum() > 0

    def test_exception(self):
        with pytest.raises(ShapeError, match="same shape"): crossmodal_l1(torch.randn(2, 3), torch.randn(3, 3))


# ------------------------------------------------------------------------------------------------------ discriminator
class TestDiscriminatorConfig:
    def test_official_and_small(self):
        cfg = DiscriminatorConfig()
        assert (cfg.ndf, cfg.n_layers, cfg.num_D, cfg.kernel, cfg.padding) == (64, 4, 2, 4, 2)
        assert cfg.channels == [64, 128, 256, 512, 1] and cfg.strides == [2, 2, 2, 1, 1]
        assert DiscriminatorConfig.official() == cfg
        small = DiscriminatorConfig.small()
        assert 16 <= small.ndf <= 32 and small.n_layers == 3 and small.channels == [small.ndf, 2 * small.ndf, 4 * small.ndf, 1]

    def test_feature_sizes(self):
        # conv k4 p2: s2 -> floor(H/2)+1, s1 -> H+1; avg_pool 3/2/1 -> floor((H-1)/2)+1
        assert DiscriminatorConfig().feature_sizes(224) == [[224, 113, 57, 29, 30, 31], [112, 57, 29, 15, 16, 17]]
        assert DiscriminatorConfig.small().feature_sizes(64) == [[64, 33, 17, 18, 19], [32, 17, 9, 10, 11]]

    def test_invalid(self):
        with pytest.raises(InputError, match="norm must be one of"): DiscriminatorConfig(norm="batch")
        with pytest.raises(InputError, match="positive integer"): DiscriminatorConfig(n_layers=0)
        with pytest.raises(InputError, match="positive integer"): DiscriminatorConfig(ndf=2.5)


class TestMultiscaleDiscriminator:
    def test_official_shapes_224(self):
        with torch.device("meta"):
            D = MultiscaleDiscriminator(DiscriminatorConfig(), init=False)
            out = D(torch.empty(2, 3, 224, 224))
        assert sum(p.numel() for p in D.parameters()) == 5_527_682          # NOTES §1.8
        assert [[tuple(f.shape) for f in s] for s in out] == [
            [(2, 3, 224, 224), (2, 64, 113, 113), (2, 128, 57, 57), (2, 256, 29, 29), (2, 512, 30, 30), (2, 1, 31, 31)],
            [(2, 3, 112, 112), (2, 64, 57, 57), (2, 128, 29, 29), (2, 256, 15, 15), (2, 512, 16, 16), (2, 1, 17, 17)]]

    def test_small_shapes_64(self, small_D):
        out = small_D(torch.rand(2, 3, 64, 64) * 2 - 1)
        assert [[tuple(f.shape) for f in s] for s in out] == [
            [(2, 3, 64, 64), (2, 32, 33, 33), (2, 64, 17, 17), (2, 128, 18, 18), (2, 1, 19, 19)],
            [(2, 3, 32, 32), (2, 32, 17, 17), (2, 64, 9, 9), (2, 128, 10, 10), (2, 1, 11, 11)]]
        assert all(torch.isfinite(f).all() for s in out for f in s)

    def test_returns_input_and_downsampled_input(self, small_D):
        x = torch.rand(1, 3, 20, 20) * 2 - 1
        out = small_D(x)
        assert out[0][0] is x
        torch.testing.assert_close(out[1][0], MultiscaleDiscriminator.downsample(x))

    def test_downsample_count_include_pad_false(self):
        x = torch.arange(16.).view(1, 1, 4, 4)
        y = MultiscaleDiscriminator.downsample(x)
        assert y.shape[-2:] == (2, 2)
        assert y[0, 0, 0, 0].item() == pytest.approx((0 + 1 + 4 + 5) / 4)  # corner: mean of the 4 valid pixels only
        assert y[0, 0, 1, 1].item() == pytest.approx(sum([5, 6, 7, 9, 10, 11, 13, 14, 15]) / 9)
        torch.testing.assert_close(MultiscaleDiscriminator.downsample(torch.full((1, 3, 9, 9), -0.3)), torch.full((1, 3, 5, 5), -0.3))

    def test_state_dict_keys_match_reference(self, shared_reference):
        p = shared_reference / "pcavs" / "state_dict_keys.tsv"
        if not p.exists(): pytest.skip(f"{p} not present")
        ref = {}
        for line in p.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 3 and parts[0] == "D": ref[parts[1]] = tuple(int(s) for s in parts[2].split("x"))
        assert len(ref) == 26
        with torch.device("meta"):
            sd = MultiscaleDiscriminator(DiscriminatorConfig(), init=False).state_dict()
        assert {k: tuple(v.shape) for k, v in sd.items()} == ref

    def test_spectral_and_instance_norm(self, small_D):
        d0 = small_D.discriminator_0
        assert not hasattr(d0.model0[0], "weight_orig") and not hasattr(d0.model3[0], "weight_orig")
        for n in (1, 2):
            conv, norm = d0.get_submodule(f"model{n}.0.0"), d0.get_submodule(f"model{n}.0.1")
            assert hasattr(conv, "weight_orig") and conv.bias is None
            assert isinstance(norm, nn.InstanceNorm2d) and not norm.affine
            assert isinstance(d0.get_submodule(f"model{n}.1"), nn.LeakyReLU) and d0.get_submodule(f"model{n}.1").negative_slope == 0.2
        assert d0.model2[0][0].stride == (1, 1) and d0.model1[0][0].stride == (2, 2)

    def test_spectral_norm_bounds_weights(self):
        torch.manual_seed(0)
        D = MultiscaleDiscriminator(DiscriminatorConfig(ndf=8, n_layers=3, num_D=1))
        x = torch.rand(1, 3, 8, 8)
        for _ in range(30): D(x)                           # power iterations in training mode
        for n in (1, 2):
            conv = D.discriminator_0.get_submodule(f"model{n}.0.0")
            sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2).item()
            assert sigma == pytest.approx(1.0, abs=0.03)
            assert not torch.allclose(conv.weight, conv.weight_orig)

    def test_official_init(self):
        torch.manual_seed(0)
        D = MultiscaleDiscriminator(DiscriminatorConfig())
        w = D.discriminator_0.model0[0].weight                # xavier normal, gain 0.02: std = 0.02*sqrt(2/(fan_in+fan_out))
        assert w.std().item() == pytest.approx(0.02 * math.sqrt(2 / (3 * 16 + 64 * 16)), rel=0.1)
        assert D.discriminator_0.model0[0].bias.abs().sum() == 0 and D.discriminator_1.model4[0].bias.abs().sum() == 0

    def test_gradients_reach_input(self, small_D):
        x = (torch.rand(2, 3, 32, 32) * 2 - 1).requires_grad_()
        g_hinge_loss(small_D(x)).backward()
        assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0

    def test_exceptions(self, small_D):
        with pytest.raises(ShapeError, match="3 channels"): small_D(torch.rand(1, 4, 32, 32))
        with pytest.raises(ShapeError, match=r"\(B, C, H, W\)"): small_D(torch.rand(3, 32, 32))
        with pytest.raises(ShapeError, match="too small"): small_D(torch.rand(1, 3, 2, 2))
        with pytest.raises(InputError, match="float"): small_D(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))
        with pytest.raises(InputError, match="DiscriminatorConfig"): MultiscaleDiscriminator({"ndf": 8})


# ---------------------------------------------------------------------------------------------------- hinge losses
def _const(*vals):
    return [[torch.zeros(2, 3, 4, 4), torch.full((2, 1, 3, 3), float(v))] for v in vals]


class TestHinge:
    def test_constants(self):
        assert d_hinge_loss(_const(2, 2), real=True).item() == 0.0
        assert d_hinge_loss(_const(-2, -2), real=False).item() == 0.0
        assert d_hinge_loss(_const(0, 0), real=True).item() == 1.0
        assert d_hinge_loss(_const(0.5), real=False).item() == 1.5
        assert d_hinge_loss(_const(-2), real=True).item() == 3.0
        assert g_hinge_loss(_const(-2, -2)).item() == 2.0
        assert g_hinge_loss(_const(3)).item() == -3.0

    def test_scales_are_averaged(self):
        assert d_hinge_loss(_const(0, 2), real=True).item() == pytest.approx(0.5)
        assert g_hinge_loss(_const(1, -3)).item() == pytest.approx(1.0)
        assert d_hinge_loss(torch.tensor([0.0, 2.0]), real=True).item() == pytest.approx(0.5)   # bare tensor

    def test_gradient(self):
        s = torch.tensor([0.5, 1.5, -2.0, 0.0], requires_grad=True)
        d_hinge_loss(s, real=True).backward()
        torch.testing.assert_close(s.grad, torch.tensor([-0.25, 0.0, -0.25, -0.25]))

    def test_divide_pred(self):
        pred = [[torch.arange(4.).view(4, 1), torch.arange(4.).view(4, 1) * 10]]
        a, b = divide_pred(pred, 1)
        assert a[0][1].tolist() == [[0.]] and b[0][1].tolist() == [[10.], [20.], [30.]]
        with pytest.raises(InputError): divide_pred(torch.zeros(2), 1)

    def test_exceptions(self):
        with pytest.raises(InputError, match="discriminator output"): d_hinge_loss("x", real=True)
        with pytest.raises(InputError, match="discriminator output"): g_hinge_loss([])


# ---------------------------------------------------------------------------------------------------- feature matching
class TestFeatureMatching:
    def test_hand_values(self):
        img_f, img_r = torch.full((1, 1, 2, 2), 1.0), torch.zeros(1, 1, 2, 2)
        f1_f, f1_r = torch.full((1, 2, 1, 1), 3.0), torch.full((1, 2, 1, 1), 1.0)
        fake = [[img_f, f1_f, torch.full((1, 1, 1, 1), 9.)], [img_f, f1_f, torch.zeros(1, 1, 1, 1)]]
        real = [[img_r, f1_r, torch.zeros(1, 1, 1, 1)], [img_r, f1_r, torch.full((1, 1, 1, 1), -9.)]]
        # per scale: 10/2 * (lambda_image * 1 + 2); score maps excluded
        assert feature_matching_loss(fake, real).item() == pytest.approx(2 * 5 * (1 + 2))
        assert feature_matching_loss(fake, real, lambda_feat=4, lambda_image=3).item() == pytest.approx(2 * 2 * (3 + 2))
        assert feature_matching_loss(fake, real, lambda_image=0).item() == pytest.approx(2 * 5 * 2)

    def test_zero_when_equal(self, small_D):
        real = torch.rand(2, 3, 32, 32) * 2 - 1
        out = generator_losses(small_D, real.clone(), real, weights=LossWeights(gan=0))
        assert out["feat"].item() == pytest.approx(0.0, abs=1e-6)

    def test_image_term_is_pixel_l1(self, small_D):
        real = torch.rand(2, 3, 24, 24) * 2 - 1
        fd, rd = divide_pred(small_D(torch.cat([real + 0.3, real])), 2)
        diff = feature_matching_loss(fd, rd, 10, 1) - feature_matching_loss(fd, rd, 10, 0)
        assert diff.item() == pytest.approx(10 / 2 * (0.3 + 0.3), rel=1e-4)  # both scales, count_include_pad=False

    def test_real_is_detached(self):
        f = [[torch.ones(1, 1, 2, 2, requires_grad=True), torch.zeros(1, 1, 1, 1)]]
        r = [[torch.zeros(1, 1, 2, 2, requires_grad=True), torch.zeros(1, 1, 1, 1)]]
        gf, gr = torch.autograd.grad(feature_matching_loss(f, r), (f[0][0], r[0][0]), allow_unused=True)
        assert gr is None and gf.abs().sum() > 0

    def test_exceptions(self):
        f = [[torch.zeros(1, 3, 4, 4), torch.zeros(1, 1, 2, 2)]] * 2
        with pytest.raises(ShapeError, match="differ in structure"): feature_matching_loss(f, f[:1])
        g = [[torch.zeros(1, 3, 5, 5), torch.zeros(1, 1, 2, 2)]] * 2
        with pytest.raises(ShapeError, match="differ in shape"): feature_matching_loss(f, g)
        with pytest.raises(InputError, match="full output"): feature_matching_loss(torch.zeros(2), torch.zeros(2))


# ---------------------------------------------------------------------------------------------------- perceptual
class TestPerceptual:
    def test_reuses_anime_vgg(self, vgg):
        assert isinstance(vgg, VGG19Features)
        assert len(vgg.features) == 30 and vgg.taps == (1, 6, 11, 20, 29)
        assert not any(p.requires_grad for p in vgg.parameters())

    def test_shapes(self, vgg):
        feats = vgg(torch.rand(1, 3, 32, 32) * 2 - 1)
        assert [tuple(f.shape[1:]) for f in feats] == [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (512, 2, 2)]

    def test_known_value_with_stub_extractor(self):
        ext = lambda x: [x, 2 * x]
        fake, real = torch.ones(1, 3, 4, 4), torch.zeros(1, 3, 4, 4)
        assert perceptual_loss(ext, fake, real, layer_weights=(0.5, 0.25)).item() == pytest.approx(0.5 * 1 + 0.25 * 2)
        assert VGG_LAYER_WEIGHTS == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)

    def test_zero_and_gradient(self, vgg):
        x = torch.rand(1, 3, 32, 32) * 2 - 1
        assert perceptual_loss(vgg, x, x).item() == 0.0
        fake = x.clone().requires_grad_()
        perceptual_loss(vgg, fake, x.flip(-1)).backward()
        assert fake.grad.abs().sum() > 0 and all(p.grad is None for p in vgg.parameters())

    def test_imagenet_norm_option(self, vgg):
        x = torch.zeros(1, 3, 16, 16)
        v2 = VGG19Perceptual(imagenet_norm=True); v2.load_state_dict(vgg.state_dict())
        assert not torch.allclose(vgg(x)[0], v2(x)[0])
        torch.testing.assert_close(v2(x)[0], vgg(((0.5 - v2.mean) / v2.std).expand(1, 3, 16, 16))[0])

    def test_load_torchvision_and_spade_layouts(self, vgg):
        sd = {f"features.{k}": t.clone() for k, t in vgg.features.state_dict().items()}
        tv = dict(sd, **{"features.30.weight": torch.zeros(512, 512, 3, 3), "features.34.bias": torch.zeros(512),
                         "classifier.6.weight": torch.zeros(1000, 4096)})
        torch.testing.assert_close(VGG19Perceptual(tv).features[28].weight, vgg.features[28].weight)
        bounds = [(0, 2), (2, 7), (7, 12), (12, 21), (21, 30)]                    # SPADE's VGG19 slices keep the indices
        spade = {}
        for k, t in sd.items():
            idx = int(k.split(".")[1])
            i = next(i for i, (lo, hi) in enumerate(bounds) if lo <= idx < hi)
            spade[f"slice{i + 1}." + k[len("features."):]] = t
        torch.testing.assert_close(VGG19Perceptual(spade).features[0].weight, vgg.features[0].weight)

    def test_exceptions(self, vgg):
        with pytest.raises(CheckpointError, match="does not fit"): VGG19Perceptual({"features.0.weight": torch.zeros(64, 3, 3, 3)})
        with pytest.raises(CheckpointError): VGG19Perceptual(42)
        with pytest.raises(ShapeError, match="too small"): vgg(torch.rand(1, 3, 8, 8))
        with pytest.raises(ShapeError, match="same shape"): perceptual_loss(vgg, torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 32))
        with pytest.raises(InputError, match="layer weights"): perceptual_loss(lambda x: [x], torch.rand(1, 3, 4, 4), torch.rand(1, 3, 4, 4))


# ---------------------------------------------------------------------------------------------------- wiring
class TestLossDicts:
    def test_stub_known_values(self):
        fake, real = torch.full((2, 3, 4, 4), -2.0, requires_grad=True), torch.full((2, 3, 4, 4), 2.0)
        g = generator_losses(ConstD(), fake, real)
        assert g["gan"].item() == pytest.approx(2.0)                            # -mean D(fake) = 2
        assert g["feat"].item() == pytest.approx(10.0 * 4.0)                    # image term only: 10/1 * |-2 - 2|
        assert g["loss"].item() == pytest.approx(42.0)
        d = discriminator_losses(ConstD(), fake, real)
        assert d["d_real"].item() == 0.0 and d["d_fake"].item() == 0.0         # both beyond the margin
        d = discriminator_losses(ConstD(), torch.zeros(2, 3, 4, 4), real * 0, weights=LossWeights(gan=2.0))
        assert d["d_real"].item() == 2.0 and d["d_fake"].item() == 2.0 and d["loss"].item() == 4.0

    def test_full_step(self, small_D, vgg):
        torch.manual_seed(0)
        real = torch.rand(4, 3, 32, 32) * 2 - 1
        fake = (real + 0.2 * torch.randn_like(real)).clamp(-1, 1).requires_grad_()
        v, a = torch.randn(4, 2, 16, requires_grad=True), torch.randn(4, 2, 16, requires_grad=True)
        g = generator_losses(small_D, fake, real, v=v, a=a, vgg=vgg)
        assert list(g) == ["loss", "gan", "feat", "vgg", "sync_v2a", "sync_a2v", "crossmodal", "sync_acc"]
        assert g["loss"].item() == pytest.approx(sum(x.item() for k, x in g.items() if k not in ("loss", "sync_acc")), rel=1e-5)
        c = contrastive_av_loss(v, a)
        assert g["sync_v2a"].item() == pytest.approx(100 * c["v2a"].item(), rel=1e-5)
        g["loss"].backward()
        assert fake.grad.abs().sum() > 0 and v.grad.abs().sum() > 0 and a.grad.abs().sum() > 0
        fake.grad = None; small_D.zero_grad()
        d = discriminator_losses(small_D, fake, real)
        d["loss"].backward()
        assert fake.grad is None and any(p.grad is not None and p.grad.abs().sum() > 0 for p in small_D.parameters())

    def test_weights_drop_terms(self, small_D):
        real = torch.rand(2, 3, 16, 16)
        assert list(generator_losses(small_D, real, real, weights=LossWeights(feat=0))) == ["loss", "gan"]
        out = generator_losses(None, real, real, v=torch.randn(2, 4), a=torch.randn(2, 4), weights=LossWeights(gan=0, feat=0))
        assert list(out) == ["loss", "sync_v2a", "sync_a2v", "crossmodal", "sync_acc"]

    def test_exceptions(self, small_D):
        x = torch.rand(2, 3, 16, 16)
        with pytest.raises(ShapeError, match="same shape"): generator_losses(small_D, x, x[:1])
        with pytest.raises(ShapeError, match="same shape"): discriminator_losses(small_D, x, x[..., :8])
        with pytest.raises(InputError, match="both v"): generator_losses(small_D, x, x, a=torch.randn(2, 4))
        with pytest.raises(InputError, match="nn.Module"): generator_losses("D", x, x)
        with pytest.raises(InputError, match="non-negative"): LossWeights(vgg=-1)
        with pytest.raises(InputError, match="non-negative"): LossWeights(vgg_layers=(1, float("nan")))


class TestDecorrelationLoss:
    "Sum over code dimensions (mean over factors) of squared batch correlations: what keeps pose out of the identity code."
    def test_smoke(self):
        loss, table = decorrelation_loss(torch.randn(16, 5), torch.randn(16, 3))
        assert loss.ndim == 0 and table.shape == (5, 3) and not table.requires_grad and 0 <= float(loss) <= 5

    def test_known_values(self):
        g = torch.Generator().manual_seed(0)
        f = torch.randn(32, 2, generator=g, dtype=torch.float64)
        noise = torch.randn(32, 1, generator=g, dtype=torch.float64)
        code = torch.cat([2 * f[:, :1] + 1, noise], 1)                            # dim 0 copies factor 0, dim 1 is noise
        loss, table = decorrelation_loss(code, f)
        want = torch.stack([torch.corrcoef(torch.stack([code[:, d], f[:, k]]))[0, 1] for d in range(2) for k in range(2)]).view(2, 2)
        torch.testing.assert_close(table, want, atol=1e-4, rtol=0)               # Pearson correlations (up to the eps on the std)
        assert float(loss) == pytest.approx(float(want.pow(2).sum(0).mean()), abs=1e-4)
        assert float(table[0, 0]) == pytest.approx(1.0, abs=1e-4)
        # the running table: momentum * old + (1 - momentum) * this batch
        old = torch.full((2, 2), 0.5, dtype=torch.float64)
        _, t2 = decorrelation_loss(code, f, ema=old, momentum=0.75)
        torch.testing.assert_close(t2, 0.75 * old + 0.25 * want, atol=1e-4, rtol=0)

    def test_linear_probe_is_blind_when_zero(self):
        "A code made orthogonal to the factors (centred) gives loss 0, and then least squares cannot predict them."
        g = torch.Generator().manual_seed(1)
        f = torch.randn(64, 3, generator=g, dtype=torch.float64); f = f - f.mean(0)
        x = torch.randn(64, 8, generator=g, dtype=torch.float64); x = x - x.mean(0)
        x = x - f @ torch.linalg.lstsq(f, x).solution                              # remove the part of x that f explains
        assert float(decorrelation_loss(x, f)[0]) < 1e-20
        w = torch.linalg.lstsq(x, f).solution
        assert float((x @ w).abs().max()) < 1e-8

    def test_gradcheck(self):
        g = torch.Generator().manual_seed(2)
        code = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
        f, ema = torch.randn(6, 2, generator=g, dtype=torch.float64), torch.randn(3, 2, generator=g, dtype=torch.float64)
        assert torch.autograd.gradcheck(lambda c: decorrelation_loss(c, f, ema=ema)[0], (code,))
        # the running table is a constant: no gradient flows into it
        e = ema.clone().requires_grad_()
        decorrelation_loss(code, f, ema=e)[0].backward()
        assert e.grad is None and code.grad is not None

    def test_exceptions(self):
        x = torch.randn(4, 3)
        with pytest.raises(ShapeError, match="rows"): decorrelation_loss(x, torch.randn(5, 2))
        with pytest.raises(ShapeError, match=r"\(B, D\)"): decorrelation_loss(x[0], torch.randn(4, 2))
        with pytest.raises(InputError, match="at least 2"): decorrelation_loss(x[:1], torch.randn(1, 2))
        with pytest.raises(ShapeError, match="ema"): decorrelation_loss(x, torch.randn(4, 2), ema=torch.zeros(2, 2))
        with pytest.raises(InputError, match="momentum"): decorrelation_loss(x, torch.randn(4, 2), momentum=1.0)


class TestRidgeFit:
    "Closed-form ridge regression (standardised inputs, unpenalised intercept): the probe the evaluation scores and the adversary uses."
    def test_smoke(self):
        r = ridge_fit(torch.randn(20, 5), torch.randn(20, 3))
        assert r.w.shape == (5, 3) and r.w.dtype == torch.float64 and r(torch.randn(7, 5)).shape == (7, 3)
        assert r(torch.randn(2, 5)).dtype == torch.float32                        # predicts in the input's dtype

    def test_known_values(self):
        g = torch.Generator().manual_seed(0)
        X = torch.randn(40, 3, generator=g, dtype=torch.float64) * torch.tensor([1.0, 5.0, 0.1], dtype=torch.float64) + 2
        Y = X @ torch.tensor([[1.0], [-0.5], [4.0]], dtype=torch.float64) + 3
        torch.testing.assert_close(ridge_fit(X, Y, alpha=1e-9)(X), Y, atol=1e-6, rtol=0)   # noiseless: exact
        # the normal equations on standardised inputs, written out
        alpha = 7.0
        mu, sd = X.mean(0), X.std(0, unbiased=False)
        Xs = (X - mu) / sd
        w = torch.linalg.inv(Xs.T @ Xs + alpha * torch.eye(3, dtype=X.dtype)) @ Xs.T @ (Y - Y.mean(0))
        torch.testing.assert_close(ridge_fit(X, Y, alpha)(X), Xs @ w + Y.mean(0))
        # a huge penalty predicts the mean; 1-d targets stay 1-d
        torch.testing.assert_close(ridge_fit(X, Y[:, 0], alpha=1e12)(X), Y[:, 0].mean().expand(40), atol=1e-6, rtol=0)

    def test_matches_the_evaluation_probe(self):
        from synthlab.talk.evaluate import ridge_r2
        g = torch.Generator().manual_seed(1)
        X, y = torch.randn(60, 4, generator=g, dtype=torch.float64), torch.randn(60, generator=g, dtype=torch.float64)
        y = y + X[:, 0]
        pred = ridge_fit(X[:40], y[:40])(X[40:])
        want = 1 - ((y[40:] - pred) ** 2).sum() / ((y[40:] - y[40:].mean()) ** 2).sum()
        assert ridge_r2(X[:40].numpy(), y[:40].numpy(), X[40:].numpy(), y[40:].numpy()) == pytest.approx(float(want), abs=1e-12)

    def test_no_gradient_into_the_fit(self):
        X = torch.randn(10, 3, requires_grad=True)
        r = ridge_fit(X, torch.randn(10))
        assert not r.w.requires_grad and not r.mu.requires_grad

    def test_exceptions(self):
        with pytest.raises(ShapeError, match="rows"): ridge_fit(torch.randn(5, 2), torch.randn(4))
        with pytest.raises(ShapeError, match=r"\(N, D\)"): ridge_fit(torch.randn(5), torch.randn(5))
        with pytest.raises(InputError, match="at least 2"): ridge_fit(torch.randn(1, 2), torch.randn(1))
        with pytest.raises(InputError, match="alpha"): ridge_fit(torch.randn(5, 2), torch.randn(5), alpha=0)


class TestProbeAdversary:
    "A ridge probe refitted each step on a bank of recent pairs; its reading on the fresh batch is decorrelated from the truth."
    def test_smoke_zero_until_the_bank_fills(self):
        adv = ProbeAdversary(6, 2, bank=16, min_rows=8)
        x = torch.randn(4, 6, requires_grad=True)
        loss, logs = adv(x, torch.randn(4, 2))
        assert float(loss) == 0 and not loss.requires_grad and logs == {} and adv.rows == 4
        adv(torch.randn(4, 6), torch.randn(4, 2))
        loss, logs = adv(x, torch.randn(4, 2))
        assert loss.requires_grad and set(logs) == {"probe_leak", "probe_corr"} and adv.rows == 12
        assert list(adv.parameters()) == []                                           # nothing for the optimiser

    def test_known_value_and_order(self):
        "The penalty is decorrelation_loss of the probe fitted on the bank *before* this batch joins it."
        g = torch.Generator().manual_seed(0)
        adv = ProbeAdversary(5, 2, bank=32, alpha=2.0, momentum=0.5, min_rows=10)
        X0, Y0 = torch.randn(12, 5, generator=g), torch.randn(12, 2, generator=g)
        adv(X0, Y0)
        X1 = torch.randn(8, 5, generator=g); Y1 = X1[:, :2] + 0.1 * torch.randn(8, 2, generator=g)
        loss, logs = adv(X1, Y1)
        want, table = decorrelation_loss(ridge_fit(X0, Y0, 2.0)(X1), Y1, ema=torch.zeros(2, 2), momentum=0.5)
        assert float(loss) == pytest.approx(float(want), rel=1e-5) and logs["probe_leak"] == pytest.approx(float(want), rel=1e-5)
        torch.testing.assert_close(adv.corr, table)
        torch.testing.assert_close(adv.bank_x[:20], torch.cat([X0, X1]))

    def test_ring_bank_keeps_the_newest_rows(self):
        adv = ProbeAdversary(1, 1, bank=4, min_rows=2)
        for k in range(3): adv.push(torch.arange(3 * k, 3 * k + 3.0)[:, None], torch.zeros(3, 1))
        assert int(adv.seen) == 9 and adv.rows == 4
        assert sorted(adv.bank_x.view(-1).tolist()) == [5.0, 6.0, 7.0, 8.0]
        adv.push(torch.arange(100, 110.0)[:, None], torch.zeros(10, 1))              # more rows than the bank
        assert sorted(adv.bank_x.view(-1).tolist()) == [106.0, 107.0, 108.0, 109.0] and int(adv.seen) == 19

    def test_state_round_trip(self):
        a = ProbeAdversary(3, 1, bank=8, min_rows=2)
        a(torch.randn(5, 3), torch.randn(5, 1)); a(torch.randn(5, 3), torch.randn(5, 1))
        b = ProbeAdversary(3, 1, bank=8, min_rows=2)
        b.load_state_dict(a.state_dict())
        x, y = torch.randn(4, 3), torch.randn(4, 1)
        assert float(a(x, y)[0]) == pytest.approx(float(b(x, y)[0]), rel=1e-6) and b.rows == a.rows == 8

    def test_gradient_removes_the_leak(self):
        "An encoder trained against it stops leaking: held-out ridge R² of the factor from ~1 to ~0."
        g = torch.Generator().manual_seed(0); torch.manual_seed(0)
        def codes(enc, n):
            f = torch.randn(n, 1, generator=g)
            return enc(torch.cat([3 * torch.randn(n, 8, generator=g), f], 1)), f
        def r2(enc):
            (xa, fa), (xb, fb) = codes(enc, 300), codes(enc, 300)
            p = ridge_fit(xa.detach(), fa)(xb.detach())
            return float(1 - (p - fb).pow(2).sum() / (fb - fb.mean()).pow(2).sum())
        enc = torch.nn.Linear(9, 12)
        adv, opt = ProbeAdversary(12, 1, bank=128, min_rows=32), torch.optim.Adam(enc.parameters(), lr=3e-3)
        before = r2(enc)
        for _ in range(500):
            loss, _ = adv(*codes(enc, 32))
            if loss.requires_grad: opt.zero_grad(); (20 * loss).backward(); opt.step()
        assert before > 0.95 and r2(enc) < 0.1

    def test_gradcheck(self):
        adv = ProbeAdversary(3, 2, bank=16, min_rows=4).double()
        g = torch.Generator().manual_seed(3)
        adv.push(torch.randn(10, 3, generator=g, dtype=torch.float64), torch.randn(10, 2, generator=g, dtype=torch.float64))
        x, y = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True), torch.randn(6, 2, generator=g, dtype=torch.float64)
        probe = ridge_fit(adv.bank_x[:10], adv.bank_y[:10])
        assert torch.autograd.gradcheck(lambda c: decorrelation_loss(probe(c), y, ema=adv.corr)[0], (x,))
        loss, _ = adv(x, y); loss.backward()
        assert x.grad is not None and x.grad.abs().sum() > 0

    def test_exceptions(self):
        with pytest.raises(InputError, match="min_rows"): ProbeAdversary(3, 1, bank=8, min_rows=9)
        with pytest.raises(InputError, match="alpha"): ProbeAdversary(3, 1, alpha=-1)
        with pytest.raises(InputError, match="momentum"): ProbeAdversary(3, 1, momentum=1.0)
        adv = ProbeAdversary(3, 2, bank=8, min_rows=2)
        with pytest.raises(ShapeError, match=r"code must be \(B, 3\)"): adv(torch.randn(4, 5), torch.randn(4, 2))
        with pytest.raises(ShapeError, match="factors must be"): adv(torch.randn(4, 3), torch.randn(4, 1))
        assert adv.rows == 0                                                          # a rejected batch is not remembered


class TestInvarianceLoss:
    "Within-person over between-person spread of two codes per person (the Fisher ratio)."
    def test_smoke(self):
        a, b = torch.randn(8, 16), torch.randn(8, 16)
        r = invariance_loss(a, b)
        assert r.shape == () and r > 0

    def test_known_values(self):
        g = torch.Generator().manual_seed(1)
        people = torch.randn(6, 5, generator=g)
        assert float(invariance_loss(people, people)) == 0.0
        # by hand: within = mean ||a-b||^2 / 2, between = mean of the two total variances
        a, b = people, people + torch.randn(6, 5, generator=g)
        within = ((a - b) ** 2).sum(1).mean() / 2
        between = (((a - a.mean(0)) ** 2).sum() / 6 + ((b - b.mean(0)) ** 2).sum() / 6) / 2
        assert float(invariance_loss(a, b)) == pytest.approx(float(within / between), rel=1e-6)
        # two unrelated draws: about 1; a shared person part with 9x the pose variance: about 1/10
        big = torch.Generator().manual_seed(2)
        assert float(invariance_loss(torch.randn(8192, 4, generator=big), torch.randn(8192, 4, generator=big))) == pytest.approx(1.0, abs=0.03)
        p = 3 * torch.randn(8192, 4, generator=big)
        assert float(invariance_loss(p + torch.randn(8192, 4, generator=big), p + torch.randn(8192, 4, generator=big))) == pytest.approx(0.1, abs=0.01)

    def test_scale_and_shift_free(self):
        a, b = torch.randn(10, 7), torch.randn(10, 7)
        r = float(invariance_loss(a, b))
        assert float(invariance_loss(5 * a + 2, 5 * b + 2)) == pytest.approx(r, rel=1e-5)

    def test_exceptions(self):
        with pytest.raises(ShapeError, match="one shape"): invariance_loss(torch.randn(4, 3), torch.randn(4, 2))
        with pytest.raises(ShapeError): invariance_loss(torch.randn(4), torch.randn(4))
        with pytest.raises(InputError, match="at least 2"): invariance_loss(torch.randn(1, 3), torch.randn(1, 3))
        with pytest.raises(InputError, match="do not vary"): invariance_loss(torch.ones(4, 3), torch.ones(4, 3))

    def test_gradcheck(self):
        a = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
        b = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(invariance_loss, (a, b))

    def test_descent_removes_the_pose_part(self):
        "A linear encoder of (person, pose) inputs trained on the ratio alone drops the pose input, keeping the person."
        g = torch.Generator().manual_seed(0); torch.manual_seed(0)
        enc = nn.Linear(6, 8)
        opt = torch.optim.Adam(enc.parameters(), lr=1e-2)
        def pair(n):
            person, pa, pb = torch.randn(n, 4, generator=g), torch.randn(n, 2, generator=g), torch.randn(n, 2, generator=g)
            return enc(torch.cat([person, pa], 1)), enc(torch.cat([person, pb], 1))
        with torch.no_grad(): before = float(invariance_loss(*pair(512)))
        for _ in range(300):
            loss = invariance_loss(*pair(64)); opt.zero_grad(); loss.backward(); opt.step()
        with torch.no_grad(): after = float(invariance_loss(*pair(512)))
        w = enc.weight.detach()
        assert before > 0.1 and after < 0.01
        assert w[:, 4:].norm() < 0.05 * w[:, :4].norm()                               # the pose columns are gone, not the person's
