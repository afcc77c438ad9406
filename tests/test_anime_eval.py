"""Tests for synthlab.anime.baselines (the Interpolator interface, averaging, DIS warping, in-betweens) and
synthlab.anime.evaluate (AnimeInterp's ATD-12K protocol, tables, plots)."""
import json, math, time
import numpy as np
import pytest
import torch
from torch import nn
from PIL import Image

from synthlab.core import SynthlabError, InputError, ShapeError, img2tensor
from synthlab.anime.baselines import (Interpolator, AverageInterpolator, DISInterpolator, ModelInterpolator,
                                      FunctionInterpolator, as_interpolator, inbetweens, check_t)
from synthlab.anime.evaluate import (GROUPS, PAPER_RESULTS, EvalResult, Comparison, evaluate, evaluate_many,
                                     paper_testset, results_table, plot_levels, plot_scatter, show_worst)

torch.set_num_threads(1)
AOT_SHOTS = ["AoT_S4E16_shot1", "AoT_S4E16_shot2", "AoT_S4E4_shot1", "AoT_S4E4_shot2"]


# ---------------------------------------------------------------- helpers (independent of the implementation)
def texture(h, w, seed=0):
    "Smooth random RGB texture, uint8 (blurred noise, stretched to 0..255 per channel)."
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.random((1, 3, h, w))).float()
    for _ in range(3): x = torch.nn.functional.avg_pool2d(x, 7, 1, 3, count_include_pad=False)
    x = (x - x.amin((2, 3), keepdim=True)) / (x.amax((2, 3), keepdim=True) - x.amin((2, 3), keepdim=True))
    return (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)

def shifted(big, dx, dy, H=128, W=176, x0=24, y0=16):
    "Window of `big` whose content is moved by (+dx, +dy) relative to the (dx, dy) = (0, 0) window."
    return np.ascontiguousarray(big[y0 - dy:y0 - dy + H, x0 - dx:x0 - dx + W])

def flat(v, H=540, W=960): return np.full((H, W, 3), v, np.uint8)

def lum(a, b, c1):
    "SSIM of two flat images (grey levels a, b in 0..255): only the luminance term is left."
    x, y = a / 255, b / 255
    return (2 * x * y + c1) / (x * x + y * y + c1)

def psnr_of(mse255): return 10 * math.log10(255 ** 2 / mse255)

@pytest.fixture(scope="module")
def translation():
    big = texture(160, 224, seed=3)
    return shifted(big, 0, 0), shifted(big, 4, 2), shifted(big, 8, 4), big

INNER = (slice(16, -16), slice(16, -16))


# ---------------------------------------------------------------- the Interpolator interface
def test_average_identical_frames_is_that_frame():
    f = texture(48, 64, seed=1)
    avg = AverageInterpolator()
    out = avg(f, f)
    assert out.dtype == np.uint8 and out.shape == f.shape
    np.testing.assert_array_equal(out, f)
    for t in (0.1, 0.5, 0.9): np.testing.assert_array_equal(avg(f, f, t=t), f)
    r = evaluate(avg, [(f, f, f)], progress=False)
    assert r.scores[0].psnr == math.inf and r.summary()["Whole"]["PSNR"] == math.inf
    assert r.scores[0].ssim == pytest.approx(1.0, abs=1e-12) and r.scores[0].ie == 0.0
    assert "inf" in str(r.table())
    capped = evaluate(avg, [(f, f, f)], progress=False, psnr_cap=100.0)
    assert capped.scores[0].psnr == 100.0
    plot_levels(r).clf()  # an infinite bar is drawn, not an error

def test_average_known_values():
    a, b = flat(0, 8, 8), flat(200, 8, 8)
    avg = AverageInterpolator()
    assert (avg(a, b, t=0.25) == 50).all() and (avg(a, b) == 100).all() and (avg(a, b, t=0.75) == 150).all()
    I1, I3 = img2tensor(a), img2tensor(b)
    out = avg.batch(torch.cat([I1, I1]), torch.cat([I3, I3]), torch.tensor([0.25, 0.75]))
    assert out.shape == (2, 3, 8, 8)
    torch.testing.assert_close(out[:, 0, 0, 0], torch.tensor([50 / 255, 150 / 255]))
    assert avg(I1[0], I3[0]).shape == (3, 8, 8)                 # tensors in, tensor out

def test_interpolator_errors():
    avg, f = AverageInterpolator(), flat(1, 32, 32)
    with pytest.raises(ShapeError, match="mismatched frame sizes: frame1 is 32x32 but frame3 is 30x32"): avg(f, flat(1, 32, 30))
    with pytest.raises(ShapeError, match="mismatched frame sizes"): avg.batch(img2tensor(f), img2tensor(flat(1, 30, 32)))
    for bad in (0, 1, 1.0, -0.1, 1.5, float("nan")):
        with pytest.raises(InputError, match="strictly between 0 and 1"): avg(f, f, t=bad)
    with pytest.raises(InputError, match="strictly between 0 and 1"): avg.batch(img2tensor(f), img2tensor(f), torch.tensor([1.0]))
    with pytest.raises(InputError, match="must be a number"): avg(f, f, t="half")
    with pytest.raises(ShapeError, match="one value per sample"): check_t(torch.tensor([0.2, 0.4, 0.6]), batch=2)
    with pytest.raises(InputError, match="positive integer"): inbetweens(avg, f, f, 0)
    with pytest.raises(InputError, match="cannot use a int"): as_interpolator(5)
    with pytest.raises(NotImplementedError): Interpolator().batch(img2tensor(f), img2tensor(f))
    with pytest.raises(InputError, match="scheme must be one of"): DISInterpolator(scheme="magic")
    with pytest.raises(InputError, match="preset must be one of"): DISInterpolator(preset="slowest")
    with pytest.raises(ShapeError, match="expected a tensor of shape"):
        FunctionInterpolator(lambda a, b, t: a[..., :4], "cut")(f, f)
    for e in (ShapeError, InputError): assert issubclass(e, SynthlabError)


# ---------------------------------------------------------------- DIS baseline
def test_dis_translation_beats_averaging(translation):
    f1, f2, f3, _ = translation
    dis, avg = DISInterpolator(), AverageInterpolator()
    e = lambda m: np.abs(m[INNER].astype(float) - f2[INNER]).mean()
    p = lambda m: psnr_of(((m[INNER].astype(float) - f2[INNER]) ** 2).mean() + 1e-12)
    m_dis, m_avg = dis(f1, f3), avg(f1, f3)
    assert e(m_dis) < 0.5, e(m_dis)                 # near-exact in the interior (one rounding step at most)
    assert e(m_avg) > 5
    assert p(m_dis) > p(m_avg) + 15
    F13, F31 = dis.flows(img2tensor(f1), img2tensor(f3))
    inner = (slice(None), slice(None)) + INNER
    torch.testing.assert_close(F13[inner].mean((-1, -2))[0], torch.tensor([8.0, 4.0]), atol=0.1, rtol=0)
    torch.testing.assert_close(F31[inner].mean((-1, -2))[0], torch.tensor([-8.0, -4.0]), atol=0.1, rtol=0)

@pytest.mark.parametrize("scheme", ["backward", "slomo", "splat"])
def test_dis_schemes_and_inbetweens(translation, scheme):
    f1, _, f3, big = translation
    dis = DISInterpolator(scheme=scheme)
    outs = inbetweens(dis, f1, f3, 3)                       # t = 1/4, 1/2, 3/4 -> shifts (2,1), (4,2), (6,3)
    assert len(outs) == 3
    for m, (dx, dy) in zip(outs, ((2, 1), (4, 2), (6, 3))):
        err = np.abs(m[INNER].astype(float) - shifted(big, dx, dy)[INNER]).mean()
        assert err < 1.0, (scheme, dx, err)
    I1, I3 = img2tensor(f1), img2tensor(f3)
    torch.testing.assert_close(dis.batch_many(I1, I3, [0.5])[0], dis.batch(I1, I3, 0.5))

def test_inbetweens_averaging_known_values():
    a, b = flat(0, 8, 8), flat(200, 8, 8)
    outs = inbetweens(AverageInterpolator(), a, b, 3)
    assert [int(o[0, 0, 0]) for o in outs] == [50, 100, 150]
    touts = inbetweens(AverageInterpolator(), img2tensor(a)[0], img2tensor(b)[0], 4)
    assert [round(float(o[0, 0, 0]) * 255, 4) for o in touts] == [40.0, 80.0, 120.0, 160.0]


# ---------------------------------------------------------------- wrapping networks
class ToyNet(nn.Module):
    "Averages; needs H, W divisible by 4; records the guide flows it was given; has estimate_motion/synthesize."
    def __init__(self):
        super().__init__(); self.w = nn.Parameter(torch.ones(())); self.seen, self.motions = [], 0
    def estimate_motion(self, I1, I3, F13=None, F31=None):
        assert I1.shape[-1] % 4 == 0 and I1.shape[-2] % 4 == 0
        self.motions += 1; self.seen.append(F13); return None
    def synthesize(self, I1, I3, motion, t=0.5):
        class Out: pass
        o = Out(); o.It = self.w * ((1 - t) * I1 + t * I3) + 0.9   # > 1 where I3 is bright: the wrapper must clamp
        return o
    def forward(self, I1, I3, F13=None, F31=None, t=0.5):
        return self.synthesize(I1, I3, self.estimate_motion(I1, I3, F13, F31), t)

def test_model_interpolator_padding_guides_and_reuse():
    net = ToyNet()
    it = as_interpolator(net, "toy")
    assert isinstance(it, ModelInterpolator) and it.name == "toy"
    a, b = flat(0, 30, 34), flat(100, 30, 34)
    out = it(a, b)
    assert out.shape == (30, 34, 3) and (out == 255).all()   # 50/255 + 0.9 > 1, clamped to 1
    net2 = ToyNet(); it2 = ModelInterpolator(net2)
    outs = inbetweens(it2, a, b, 3)
    assert net2.motions == 1 and len(outs) == 3                # motion estimated once for three times
    g = torch.full((1, 2, 30, 34), 7.0)
    r = evaluate(it2, [dict(frame1=img2tensor(a)[0], frame2=img2tensor(b)[0], frame3=img2tensor(b)[0], guide_flo13=g[0], guide_flo31=-g[0])], progress=False)
    F13 = net2.seen[-1]
    assert F13.shape == (1, 2, 32, 36) and float(F13[0, 0, 5, 5]) == 7.0   # the guide flow reached the model, padded
    with pytest.raises(ShapeError, match="flow13 must be"): it2.batch(img2tensor(a), img2tensor(b), 0.5, torch.zeros(1, 2, 8, 8))
    with pytest.raises(InputError, match="torch.nn.Module"): ModelInterpolator(lambda *a: a)


# ---------------------------------------------------------------- the evaluation protocol on a hand-built ATD-12K
# Frames are scored as float32 (as in the paper), so closed-form values match to ~1e-5 dB, not to fp64 precision.
# Every clip: frames 1 and 3 flat grey `f`, truth flat grey `g` with grey `p` exactly inside the official RoI box.
# Averaging returns grey `f`; so every score is a closed-form number.
CLIPS = {  # name: (level, image_size, motion_RoI, expected box at 960x540, f, g, p)
    "Disney_v4_0_000001_s1": (0, [960, 540], dict(x=100, y=50, width=200, height=100), (100, 50, 200, 100), 120, 100, 110),
    "Japan_v2_0_000002_s2": (1, [1920, 1080], dict(x=401, y=203, width=301, height=161), (200, 101, 150, 80), 120, 100, 130),
    "Japan_v2_0_000003_s3": (2, [1280, 720], dict(x=150, y=75, width=700, height=300), (112, 56, 525, 225), 90, 100, 70),
    "Japan_v2_0_000004_s1": (2, [3840, 2160], dict(x=1001, y=399, width=1203, height=801), (250, 99, 300, 200), 200, 180, 190),
}
N = 960 * 540

def expected(clip):
    lv, _, _, (x, y, w, h), f, g, p = CLIPS[clip]
    n = w * h
    eo, ei = abs(f - g), abs(f - p)
    return dict(level=lv, roi=(x, y, w, h), psnr=psnr_of((eo ** 2 * (N - n) + ei ** 2 * n) / N), roi_psnr=psnr_of(ei ** 2),
                roi_ssim=lum(f, p, 0.02 ** 2), roi_ssim_std=lum(f, p, 0.01 ** 2), ie=math.sqrt(3) * (eo * (N - n) + ei * n) / N)

@pytest.fixture(scope="module")
def atd_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("atd")
    for c, (lv, size, roi, (x, y, w, h), f, g, p) in CLIPS.items():
        d = root / "test_2k_540p" / c; d.mkdir(parents=True)
        gt = flat(g); gt[y:y + h, x:x + w] = p
        for k, im in (("frame1", flat(f)), ("frame2", gt), ("frame3", flat(f))): Image.fromarray(im).save(d / f"{k}.png")
        a = root / "test_2k_annotations" / c; a.mkdir(parents=True)
        (a / f"{c}.json").write_text(json.dumps(dict(image_size=size, motion_RoI=roi, level=lv, motion_tags=["translation"])))
    return root

@pytest.fixture(scope="module")
def atd_result(atd_root):
    return evaluate(AverageInterpolator(), paper_testset(atd_root), progress=False)

def test_atd_fixture_per_triplet(atd_result):
    r = atd_result
    assert isinstance(r, EvalResult) and len(r) == 4 and r.ssim_variant == "paper" and r.method == "Average"
    for s in r.scores:
        e = expected(s.name)
        assert s.level == e["level"] and s.roi == e["roi"] and s.size == (960, 540)
        assert s.psnr == pytest.approx(e["psnr"], abs=1e-4)
        assert s.roi_psnr == pytest.approx(e["roi_psnr"], abs=1e-4)
        assert s.roi_ssim == pytest.approx(e["roi_ssim"], abs=1e-7)
        assert s.ie == pytest.approx(e["ie"], abs=1e-3)

def test_atd_fixture_means(atd_result):
    E = {c: expected(c) for c in CLIPS}
    sm = atd_result.summary()
    assert list(sm) == list(GROUPS) + ["IE"]
    mean = lambda k, lv=None: np.mean([e[k] for e in E.values() if lv is None or e["level"] == lv])
    assert sm["Whole"]["PSNR"] == pytest.approx(mean("psnr"), abs=1e-4) and sm["Whole"]["n"] == 4
    assert sm["RoI"]["PSNR"] == pytest.approx(mean("roi_psnr"), abs=1e-4)
    assert sm["RoI"]["SSIM"] == pytest.approx(mean("roi_ssim"), abs=1e-7)
    assert sm["Easy"]["PSNR"] == pytest.approx(E["Disney_v4_0_000001_s1"]["psnr"], abs=1e-4) and sm["Easy"]["n"] == 1
    assert sm["Medium"]["PSNR"] == pytest.approx(E["Japan_v2_0_000002_s2"]["psnr"], abs=1e-4) and sm["Medium"]["n"] == 1
    assert sm["Hard"]["PSNR"] == pytest.approx(mean("psnr", 2), abs=1e-4) and sm["Hard"]["n"] == 2
    assert sm["IE"] == pytest.approx(mean("ie"), abs=1e-3)
    # Easy/Medium/Hard SSIM are means of the whole-frame SSIMs of their triplets
    ss = {s.name: s.ssim for s in atd_result.scores}
    assert sm["Hard"]["SSIM"] == pytest.approx((ss["Japan_v2_0_000003_s3"] + ss["Japan_v2_0_000004_s1"]) / 2, abs=1e-12)

def test_atd_fixture_whole_ssim_matches_skimage(atd_root, atd_result):
    "The paper's SSIM is skimage's structural_similarity(channel_axis=2, data_range=2) with its default 7x7 uniform window."
    sk = pytest.importorskip("skimage.metrics")
    for s in atd_result.scores[:2]:
        lv, _, _, (x, y, w, h), f, g, p = CLIPS[s.name]
        est = flat(f).astype(np.float32) / 255
        gt = flat(g); gt[y:y + h, x:x + w] = p; gt = gt.astype(np.float32) / 255
        assert s.ssim == pytest.approx(sk.structural_similarity(est, gt, channel_axis=2, data_range=2.0), abs=1e-6)
        assert s.psnr == pytest.approx(sk.peak_signal_noise_ratio(gt, est, data_range=1.0), abs=1e-5)

def test_paper_vs_standard_ssim():
    # flat images: only the luminance constant differs, C1 = (0.01*2)^2 (paper) vs (0.01*1)^2 (standard)
    pair = (flat(20, 64, 96), flat(10, 64, 96), flat(20, 64, 96))
    q = {v: evaluate(AverageInterpolator(), [pair], ssim_variant=v, progress=False).scores[0].ssim for v in ("paper", "standard")}
    assert q["paper"] == pytest.approx(lum(20, 10, 0.02 ** 2), abs=1e-7)
    assert q["standard"] == pytest.approx(lum(20, 10, 0.01 ** 2), abs=1e-6)
    # a small annotated item: the RoI (image_size 2x the frames -> box halved) gets the same constants
    gt = flat(100, 120, 160); gt[10:50, 20:80] = 60
    item = dict(frame1=flat(80, 120, 160), frame2=gt, frame3=flat(80, 120, 160), name="small",
                annotation=dict(image_size=[320, 240], motion_RoI=dict(x=40, y=20, width=121, height=81), level=1))
    rs = {v: evaluate(AverageInterpolator(), [item], ssim_variant=v, progress=False).scores[0] for v in ("paper", "standard")}
    assert rs["paper"].roi == (20, 10, 60, 40)
    assert rs["paper"].roi_ssim == pytest.approx(lum(80, 60, 0.02 ** 2), abs=1e-7)
    assert rs["standard"].roi_ssim == pytest.approx(lum(80, 60, 0.01 ** 2), abs=1e-6)
    assert rs["paper"].roi_psnr == rs["standard"].roi_psnr == pytest.approx(psnr_of(20 ** 2), abs=1e-4)
    # textured content: the larger constants of the paper's variant always give a higher SSIM
    big = texture(120, 160, seed=7)
    trips = [(shifted(big, 0, 0, 80, 112), shifted(big, d, 1, 80, 112), shifted(big, 2 * d, 2, 80, 112)) for d in (1, 3, 6)]
    qp, qs = (evaluate(AverageInterpolator(), trips, ssim_variant=v, progress=False).values("ssim") for v in ("paper", "standard"))
    assert (qp > qs).all() and (qp - qs).max() > 0.005

def test_unannotated_and_mixed(atd_root):
    avg = AverageInterpolator()
    big = texture(100, 140, seed=2)
    plain = [(shifted(big, 0, 0, 64, 96), shifted(big, 2, 1, 64, 96), shifted(big, 4, 2, 64, 96))] * 2
    r = evaluate(avg, plain, progress=False)
    assert list(r.summary()) == ["Whole", "IE"] and r.annotated == 0
    assert all(s.level is None and s.roi is None and s.roi_psnr == s.psnr and s.roi_ssim == s.ssim for s in r.scores)
    tab = str(r.table())
    assert "Whole" in tab and "RoI" not in tab and "Easy" not in tab
    # mixed: unannotated triplets count in Whole and RoI (as whole frame), not in Easy/Medium/Hard
    ds = paper_testset(atd_root)
    mixed = [ds[0], ds[1]] + [dict(frame1=flat(120), frame2=flat(100), frame3=flat(120), name="plain")]
    m = evaluate(avg, mixed, progress=False)
    sm, E0, E1 = m.summary(), expected(ds.clips[0]), expected(ds.clips[1])
    plain_psnr = psnr_of(20 ** 2)
    assert sm["Whole"]["n"] == 3 and sm["Easy"]["n"] == 1 and sm["Medium"]["n"] == 1 and sm["Hard"]["n"] == 0
    assert sm["RoI"]["PSNR"] == pytest.approx((E0["roi_psnr"] + E1["roi_psnr"] + plain_psnr) / 3, abs=1e-4)
    assert math.isnan(sm["Hard"]["PSNR"]) and "–" in str(m.table())

def test_triplet_objects_and_limit():
    from synthlab.anime.data import make_triplet
    T = make_triplet(5, (160, 96), level=2)
    r = evaluate(AverageInterpolator(), [T, T], progress=False, limit=1)
    s = r.scores[0]
    assert len(r) == 1 and s.level == 2 and s.name == T.name
    assert s.roi == (T.roi["x"], T.roi["y"], T.roi["width"], T.roi["height"])   # RoI given at the frame size: unchanged

def test_evaluate_many_table_and_plots(atd_root, atd_result):
    ds = paper_testset(atd_root)
    c = evaluate_many({"avg": AverageInterpolator(), "avg2": FunctionInterpolator(lambda a, b, t: (a + b) / 2)}, ds, progress=False)
    assert isinstance(c, Comparison) and list(c) == ["avg", "avg2"]
    np.testing.assert_allclose(c["avg"].values("psnr"), atd_result.values("psnr"))
    np.testing.assert_allclose(c["avg2"].values("roi_ssim"), atd_result.values("roi_ssim"), atol=1e-12)
    assert len(PAPER_RESULTS) == 8 and PAPER_RESULTS["AnimeInterp"]["Whole"] == (29.68, 0.958)
    assert PAPER_RESULTS["SoftSplat (fine-tuned)"]["Hard"] == (26.59, 0.938) and PAPER_RESULTS["AnimeInterp w/o RFR"]["RoI"] == (24.43, 0.887)
    tab = str(c.table(paper="AnimeInterp"))
    assert "| AnimeInterp (paper) | 29.68 / 0.958 | 26.27 / 0.910 | 31.86 / 0.971 | 29.26 / 0.959 | 27.07 / 0.939 |" in tab
    assert "| avg |" in tab and tab == str(results_table([c["avg"], c["avg2"]], paper="AnimeInterp"))
    assert len(str(results_table(c, paper=True)).splitlines()) == 2 + 8 + 2
    with pytest.raises(InputError, match="no published row"): c.table(paper="RIFE")
    with pytest.raises(InputError, match="unique"): evaluate_many([AverageInterpolator(), AverageInterpolator()], ds, progress=False)
    import matplotlib.pyplot as plt
    for fig in (c.plot_levels(paper="AnimeInterp"), plot_levels(c, "SSIM"), c.plot_scatter("avg", "avg2"), plot_scatter(c["avg"], c["avg2"], "ie"), show_worst(c["avg"], k=2)):
        assert len(fig.axes) >= 1; plt.close(fig)
    worst = c["avg"].worst(2)
    assert [w.psnr for w in worst] == sorted(c["avg"].values("psnr"))[:2]
    with pytest.raises(InputError, match="keep its dataset"): show_worst(evaluate(AverageInterpolator(), iter([(flat(1, 16, 16),) * 3]), progress=False))

def test_evaluate_errors(atd_root):
    avg = AverageInterpolator()
    item = dict(frame1=flat(1, 64, 64), frame2=flat(1, 64, 64), frame3=flat(1, 64, 64), name="clipX",
                annotation=dict(image_size=[64, 64], motion_RoI=dict(x=500, y=0, width=8, height=8), level=0))
    with pytest.raises(ShapeError, match="triplet 'clipX'"): evaluate(avg, [item], progress=False)
    with pytest.raises(InputError, match="'paper' or 'standard'"): evaluate(avg, [item], ssim_variant="gaussian")
    with pytest.raises(InputError, match="sequence of triplets"): evaluate(avg, 3)
    with pytest.raises(InputError, match="cannot read dataset item 0"): evaluate(avg, [42], progress=False)
    with pytest.raises(InputError, match="lacks"): evaluate(avg, [dict(frame1=1)], progress=False)
    with pytest.raises(InputError, match="empty"): evaluate(avg, [], progress=False)
    with pytest.raises(InputError, match="limit"): evaluate(avg, [item], limit=0)
    with pytest.raises(ShapeError, match="different sizes"):
        evaluate(avg, [(flat(1, 32, 32), flat(1, 32, 30), flat(1, 32, 32))], progress=False)


# ---------------------------------------------------------------- real data (skips where ../shared/data is absent)
def _mean_psnr(r): return r.summary()["Whole"]["PSNR"]

def test_sintel_reference_numbers(shared_data):
    from synthlab.anime.data import triplets_from_sequence
    c = evaluate_many([AverageInterpolator(), DISInterpolator()], triplets_from_sequence(shared_data / "sintel_raft_demo"), progress=False)
    assert len(c["DIS"]) == 4
    assert _mean_psnr(c["Average"]) == pytest.approx(24.7, abs=0.1)
    assert _mean_psnr(c["DIS"]) == pytest.approx(28.9, abs=0.3)

@pytest.fixture(scope="module")
def aot(shared_data):
    from synthlab.anime.data import triplets_from_sequence
    return [T for s in AOT_SHOTS for T in triplets_from_sequence(shared_data / "anime_aot_sequences" / s)]

def test_aot_fast_check(aot):
    "Three slow-motion triplets (S4E16 shot 1): DIS warping is far better than averaging there (README: 'DIS wins')."
    c = evaluate_many([AverageInterpolator(), DISInterpolator()], aot[:3], progress=False)
    a, d = c["Average"].values("psnr"), c["DIS"].values("psnr")
    assert ((d - a) > 4).all(), (a, d)
    assert 31 < a.mean() < 35 and d.mean() > 37

@pytest.mark.slow
def test_aot_reference_numbers(aot):
    "All 36 AoT triplets at 640x360: averaging 31.9 dB, DIS halfway warp 32.4 dB (data README)."
    assert len(aot) == 36
    t0 = time.time()
    c = evaluate_many([AverageInterpolator(), DISInterpolator()], aot, progress=False)
    assert _mean_psnr(c["Average"]) == pytest.approx(31.9, abs=0.1)
    assert _mean_psnr(c["DIS"]) == pytest.approx(32.4, abs=0.3)
    wins = int((c["DIS"].values("psnr") > c["Average"].values("psnr")).sum())
    assert 19 <= wins <= 22, wins                               # README: 21 of 36
    print(f"AoT 36 triplets in {time.time() - t0:.1f}s: {_mean_psnr(c['Average']):.3f} / {_mean_psnr(c['DIS']):.3f} dB, DIS wins {wins}")
