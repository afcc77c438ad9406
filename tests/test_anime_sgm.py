"Tests for synthlab.anime.sgm: lines, trapped-ball segmentation, descriptors, matching, guidance flow, the reference fixture."
import importlib.util
import math
import numpy as np
import pytest
import torch

from synthlab.core import ShapeError, InputError, CheckpointError, SynthlabError
from synthlab.anime.sgm import (toy_cartoon, TOY_MOTIONS, LinePreset, LINE_PRESETS, line_preset, extract_lines,
                                trapped_ball_fill, region_color_hists, merge_small_regions, thin_lines, squeeze_labels,
                                segment, label_colors, superpixel_pool, normalize_descriptors, VGG19Features,
                                HandcraftedFeatures, histogram_intersection, SegmentStats, segment_stats, affinity,
                                mutual_matching, segment_flow, guidance_flow, SGMResult, sgm_flows, sgm_guide, ATD_SIZE,
                                plot_matches)

torch.set_num_threads(1)
TRUE_MOTION = dict(enumerate(TOY_MOTIONS[k] for k in ("eye", "ellipse", "disc", "rectangle", "ground", "sky")))  # ids = area order


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def ref(shared_reference):
    p = shared_reference / "animeinterp" / "reference_256x448.npz"
    if not p.exists(): pytest.skip(f"{p} not present")
    d = np.load(p)
    out = {k: d[k] for k in ("I1", "I2", "F12i", "F21i", "label1", "label3")}
    out["img1"] = (out["I1"][0].transpose(1, 2, 0) * 255).round().astype(np.uint8)
    out["img3"] = (out["I2"][0].transpose(1, 2, 0) * 255).round().astype(np.uint8)
    return out


@pytest.fixture(scope="module")
def toy():
    return toy_cartoon(0), toy_cartoon(1)


@pytest.fixture(scope="module")
def toy_result(toy):
    return sgm_flows(*toy)


def ari(a, b):
    "Adjusted Rand index of two label maps (1 = the same partition)."
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    _, ia = np.unique(a, return_inverse=True); _, ib = np.unique(b, return_inverse=True)
    _, c = np.unique(ia.astype(np.int64) * (ib.max() + 1) + ib, return_counts=True)
    comb = lambda x: float((np.asarray(x, float) * (np.asarray(x, float) - 1) / 2).sum())
    sij, sa, sb, tot = comb(c), comb(np.bincount(ia)), comb(np.bincount(ib)), comb([a.size])
    exp = sa * sb / tot
    return (sij - exp) / ((sa + sb) / 2 - exp)


def within(flow, ref_flow, tol=0.5):
    "Fraction of pixels whose flow is within `tol` px (end-point error) of `ref_flow`; both (2, H, W)."
    return float((np.hypot(*(np.asarray(flow, np.float64) - ref_flow)) <= tol).mean())


# ---------------------------------------------------------------- the reference fixture (official SGM output)
def test_toy_cartoon_is_the_fixture_formula(ref, toy):
    np.testing.assert_array_equal(toy[0], ref["img1"])
    np.testing.assert_array_equal(toy[1], ref["img3"])


def test_segment_reproduces_official_labels(ref):
    for img, lab in ((ref["img1"], ref["label1"]), (ref["img3"], ref["label3"])):
        mine = segment(img, "japan")
        assert mine.dtype == np.int32 and mine.max() + 1 == 6   # sky, ground, rectangle, ellipse, disc, eye
        assert ari(mine, lab) >= 0.99
        np.testing.assert_array_equal(mine, lab)              # same squeeze order: the ids match exactly


def test_sgm_handcrafted_matches_reference_flows(ref, toy_result):
    r = toy_result
    F12, F21 = ref["F12i"][0], ref["F21i"][0]
    assert r.flow13.dtype == np.float32 and r.flow13.shape == (2, 256, 448)
    assert within(r.flow13, F12) >= 0.99 and within(r.flow31, F21) >= 0.99
    assert r.matches.tolist() == [[i, i] for i in range(6)]
    assert r.accepted13.tolist() == [True] * 4 + [False] * 2 and r.accepted31.tolist() == [True] * 4 + [False] * 2
    for i, (dx, dy) in TRUE_MOTION.items():                    # exactly the true motion per segment
        np.testing.assert_allclose(r.seg_flow13[i], (dx, dy) if i < 4 else (0, 0), atol=0.05)
        np.testing.assert_allclose(r.seg_flow31[i], (-dx, -dy) if i < 4 else (0, 0), atol=0.05)


def test_vgg19_filled_by_recipe_matches_reference(ref, fill_weights):
    vgg = VGG19Features()
    sd = {f"vgg19.{k}": fill_weights.fill_tensor(f"vgg19.{k}", v.shape) for k, v in vgg.state_dict().items()}
    vgg.load(sd)                                               # the seed keys, prefix stripped by the loader
    assert float(vgg.features[0].weight.double().sum()) == pytest.approx(float(fill_weights.fill_tensor("vgg19.features.0.weight", (64, 3, 3, 3)).double().sum()))
    r = sgm_flows(ref["img1"], ref["img3"], extractor=vgg, labels1=ref["label1"], labels3=ref["label3"])
    assert within(r.flow13, ref["F12i"][0]) >= 0.99 and within(r.flow31, ref["F21i"][0]) >= 0.99
    assert r.matches.tolist() == [[i, i] for i in range(6)]
    assert r.scores.shape == (6, 6) and (np.argmax(r.scores, 1) == np.arange(6)).all()


# ---------------------------------------------------------------- lines
def test_line_presets():
    assert line_preset("Japan_v2_0_161238_s3") == LinePreset(2.0, 20.0, (10, 10, 10))
    assert line_preset("Disney_v4_8_002959_s2") == LINE_PRESETS["disney"] == line_preset("DISNEY")
    assert line_preset("clip_42", default="disney") == LINE_PRESETS["disney"]
    with pytest.raises(InputError, match="unknown line preset"): line_preset("clip_42")


def test_extract_lines_known_values():
    img = np.full((64, 64, 3), 230, np.uint8)
    img[20:44, 20:44] = 20; img[23:41, 23:41] = (200, 60, 60)  # a 3-px dark outline around a red square
    p = LINE_PRESETS["japan"]
    lines = extract_lines(img, p.low, p.high, p.bilateral)
    assert lines.shape == (64, 64) and lines.dtype == np.uint8
    assert (lines[21, 21:43] <= 220).all() and (lines[32, 21] <= 220)  # the outline is line
    assert lines[5, 5] == 255 and lines[32, 32] == 255         # flat paint is not
    assert (extract_lines(np.full((40, 40, 3), 7, np.uint8)) == 255).all()
    with pytest.raises(InputError): extract_lines(img, low=30, high=20)


def test_hysteresis_equals_scikit_image():
    skf = pytest.importorskip("skimage.filters")
    from synthlab.anime.sgm import _hysteresis
    rng = np.random.default_rng(11)
    for k in range(60):
        H, W, C = int(rng.integers(1, 30)), int(rng.integers(1, 30)), int(rng.integers(1, 4))
        x = (rng.random((H, W, C)) ** rng.uniform(1, 5) * 30).astype(np.float32)
        lo, hi = sorted(rng.uniform(0, 30, 2).tolist())
        want = skf.apply_hysteresis_threshold(x, lo, hi)                # 3-D: linked across channels too
        np.testing.assert_array_equal(np.stack(_hysteresis([x[..., c] for c in range(C)], lo, hi), 2), want)
    x = np.zeros((5, 6, 3), np.float32); x[2, 1:5, 0] = 5; x[2, 4, 1] = 5; x[2, 0, 2] = 30   # a weak run, a strong pixel apart
    assert not np.stack(_hysteresis([x[..., c] for c in range(3)], 2, 20), 2)[..., :2].any()
    x[2, 4, 2] = 30                                                  # now the strong pixel sits behind the run's end
    keep = np.stack(_hysteresis([x[..., c] for c in range(3)], 2, 20), 2)
    assert keep[2, 1:5, 0].all() and keep[2, 4, 1] and keep[2, 4, 2] and keep[2, 0, 2] and keep.sum() == 7


# ---------------------------------------------------------------- trapped ball, merge, thinning, squeeze
def _sequential_trapped_ball(paint, radius, keep_max, max_fills=1000):
    "Slow reference: one fill at a time, seeded at the first pixel (raster order) where the ball fits, removed before the next."
    import cv2
    ball = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    unfilled, fills = paint.copy(), []
    while len(fills) < max_fills:
        core = cv2.erode(unfilled.astype(np.uint8), ball) > 0
        if not core.any(): break
        n, comp = cv2.connectedComponents(core.astype(np.uint8), connectivity=4)
        seed = np.flatnonzero(core.ravel())[0]
        grown = cv2.dilate((comp == comp.ravel()[seed]).astype(np.uint8), ball) > 0
        fill = grown & unfilled
        fills.append(fill); unfilled &= ~fill
    if keep_max and fills:
        m = max(f.sum() for f in fills); fills = [f for f in fills if f.sum() >= m]
    return fills


def _reference_fill(paint, max_fills=1000):
    out, nxt, rem = np.zeros(paint.shape, np.int32), 1, paint.copy()
    for k, r in enumerate((3, 2, 1)):
        for f in _sequential_trapped_ball(rem, r, k == 0, max_fills):
            out[f] = nxt; nxt += 1; rem &= ~f
    import cv2
    n, comp = cv2.connectedComponents(rem.astype(np.uint8), connectivity=4)
    out[comp > 0] = comp[comp > 0] + nxt - 1
    return out


def test_trapped_ball_fill_equals_sequential_reference():
    rng = np.random.default_rng(0)
    paint = np.ones((96, 128), bool)
    for _ in range(14):                                        # random line strokes with gaps
        x0, y0 = rng.integers(0, 128), rng.integers(0, 96)
        ang, L = rng.uniform(0, np.pi), rng.integers(20, 90)
        t = np.linspace(0, L, 4 * L)
        xs, ys = (x0 + t * np.cos(ang)).astype(int), (y0 + t * np.sin(ang)).astype(int)
        ok = (xs >= 0) & (xs < 128) & (ys >= 0) & (ys < 96) & (rng.random(len(t)) > 0.04)
        paint[ys[ok], xs[ok]] = False
    mine, ref = trapped_ball_fill(paint), _reference_fill(paint)
    assert (mine[~paint] == 0).all() and (mine[paint] > 0).all() and mine.max() > 20
    np.testing.assert_array_equal(mine, ref)                   # same fills, same numbering
    np.testing.assert_array_equal(trapped_ball_fill(paint, max_fills=4), _reference_fill(paint, max_fills=4))  # max_iter cap


def test_trapped_ball_gap_and_order():
    paint = np.ones((40, 60), bool); paint[:, 30] = False; paint[18:21, 30] = True   # a wall with a 3-px gap
    fm = trapped_ball_fill(paint)
    assert len(np.unique(fm[paint])) == 2 and fm[0, 0] == 1                        # the ball does not leak; raster order
    assert set(np.unique(trapped_ball_fill(paint, radii=(1,)))) == {0, 1}          # a thin ball does
    with pytest.raises(ShapeError): trapped_ball_fill(np.ones((2, 3, 4), bool))


def test_region_color_hists_equal_numpy_histogram():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (30, 40, 3)).astype(np.uint8)
    img[:10] = rng.integers(100, 103, (10, 40, 3))            # a narrow value range: edge cases of the bins
    img[10:12] = 77                                            # a constant region
    idx = np.zeros((30, 40), np.int64); idx[10:12] = 1; idx[12:] = 2; idx[:10, :7] = 3
    h = region_color_hists(idx, 4, img)
    for r in range(4):
        want = np.concatenate([np.histogram(img[..., c][idx == r], 25)[0] for c in range(3)]).astype(float)
        np.testing.assert_allclose(h[r], want / want.sum(), atol=1e-15)


def test_merge_small_regions_known_cases():
    im = np.zeros((40, 60, 3), np.uint8); im[:, :30] = (200, 50, 50); im[:, 30:] = (50, 50, 200)
    fm = np.ones((40, 60), np.int32); fm[:, 30:] = 2; fm[:, 29] = 0
    fm[5:8, 5:8] = 3                                           # 9-px crumb inside region 1: joins it
    fm[20:24, 27:29] = 4; im[20:24, 27:29] = (50, 50, 200)     # blue crumb touching red region 1 only (the line is in between)
    fm[30:32, 29] = 0; fm[35, 10] = 0; fm[36, 10] = 5          # a 1-px speck fully inside region 1
    fm[34:37, 40:43] = 0; fm[35, 41] = 6                       # an isolated 1-px speck inside a line ring: becomes line
    out = merge_small_regions(fm, im)
    assert out[6, 6] == 1 and out[21, 27] == 1 and out[36, 10] == 1 and out[35, 41] == 0
    assert (out[:, 30:][fm[:, 30:] == 2] == 2).all() and (out[fm == 0] == 0).all()
    big = np.ones((40, 60), np.int32); big[:, 30:] = 2         # nothing small: unchanged
    np.testing.assert_array_equal(merge_small_regions(big, im), big)
    with pytest.raises(ShapeError): merge_small_regions(fm, im[:10])


def test_merge_small_regions_passes_equal_repeated_single_passes():
    rng = np.random.default_rng(8)
    fm = rng.integers(1, 40, (12, 16)).repeat(4, 0).repeat(4, 1)            # 4x4 blocks, ~40 labels
    crumbs = rng.random(fm.shape) < 0.08
    fm[crumbs] = rng.integers(40, 400, int(crumbs.sum()))                    # 1-pixel crumbs
    fm[rng.random(fm.shape) < 0.1] = 0                                       # line specks
    img = (rng.random((48, 64, 3)) * 40 + (fm[..., None] * 37) % 200).astype(np.uint8)
    one = fm.copy()
    for k in range(1, 7):                                                   # each call starts from scratch
        one = merge_small_regions(one, img, max_iter=1)
        np.testing.assert_array_equal(merge_small_regions(fm, img, max_iter=k), one)
    assert len(np.unique(one)) < len(np.unique(fm))


def _naive_thinning(fm, max_iter=100):
    H, W = fm.shape
    res = fm.copy()
    order = ((0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1))
    for _ in range(max_iter):
        if not (res == 0).any(): break
        new = res.copy()
        for y in range(H):
            for x in range(W):
                if res[y, x] != 0: continue
                if not any(0 <= y + dy < H and 0 <= x + dx < W and res[y + dy, x + dx] != 0 for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0))): continue
                for dy, dx in order:
                    yy, xx = y + dy, x + dx
                    if (xx >= 2 if dx < 0 else xx < W) and (yy >= 2 if dy < 0 else yy < H) and yy >= 0 and xx >= 0 and res[yy, xx] != 0:
                        new[y, x] = res[yy, xx]; break
        res = new
    return res


def test_thin_lines_equals_per_pixel_reference():
    rng = np.random.default_rng(2)
    fm = rng.integers(1, 6, (24, 30)).repeat(2, 0).repeat(2, 1)[:24, :30]
    fm[rng.random(fm.shape) < 0.35] = 0; fm[:, 1] = 0; fm[1, :] = 0; fm[10:14, 10:20] = 0
    np.testing.assert_array_equal(thin_lines(fm), _naive_thinning(fm))
    assert (thin_lines(fm) != 0).all()


def test_squeeze_labels_ascending_area():
    fm = np.array([[9, 9, 9, 4], [4, 2, 9, 9]])
    np.testing.assert_array_equal(squeeze_labels(fm), [[2, 2, 2, 1], [1, 0, 2, 2]])


def test_segment_and_label_colors(toy):
    lab = segment(toy[0])
    pic = label_colors(lab)
    assert pic.shape == (256, 448, 3) and pic.dtype == np.uint8
    assert len({tuple(pic[lab == i][0]) for i in range(6)}) == 6
    with pytest.raises(ShapeError): label_colors(lab.astype(float))


# ---------------------------------------------------------------- descriptors
def test_superpixel_pool_and_normalize():
    f = torch.arange(16.).reshape(2, 2, 4)
    out = superpixel_pool(f, np.array([[0, 0, 1, 1], [0, 0, 1, 3]]))
    torch.testing.assert_close(out, torch.tensor([[2.5, 10.5], [11 / 3, 35 / 3], [0, 0], [7, 15]]))
    d = normalize_descriptors(torch.tensor([[1., 2, 3], [5, 5, 5], [-2, 0, 2]]))
    torch.testing.assert_close(d, torch.tensor([[0, 1 / 3, 2 / 3], [1 / 3] * 3, [0, 1 / 3, 2 / 3]]))
    with pytest.raises(ShapeError): superpixel_pool(f, np.zeros((3, 3), int))


def test_vgg19_layout_and_strict_loading(tmp_path):
    vgg = VGG19Features()
    keys = list(vgg.state_dict())
    assert len(keys) == 18 and keys[0] == "features.0.weight" and keys[-1] == "features.19.bias"
    assert tuple(vgg.state_dict()["features.19.weight"].shape) == (512, 256, 3, 3)
    x = torch.rand(1, 3, 32, 48)
    assert [tuple(f.shape[1:]) for f in vgg.pyramid(x)] == [(64, 32, 48), (128, 16, 24), (256, 8, 12), (512, 4, 6)]
    lab = np.zeros((32, 48), np.int64); lab[:, 24:] = 1
    assert vgg(x, lab, 2).shape == (2, 960)
    # a torchvision-style full dict (deeper convs + classifier) loads; a wrong dict is a CheckpointError
    full = {k: torch.randn(v.shape) for k, v in vgg.state_dict().items()} | {"features.21.weight": torch.zeros(8, 8, 3, 3), "classifier.6.bias": torch.zeros(10)}
    torch.save(full, tmp_path / "vgg.pth")
    v2 = VGG19Features(tmp_path / "vgg.pth")
    torch.testing.assert_close(v2.features[0].weight, full["features.0.weight"])
    official = {k.replace("features.", "slice1.", 1): v for k, v in full.items() if k.startswith("features.0.")}
    with pytest.raises(CheckpointError, match="missing"): vgg.load(official)        # strict: the other 16 tensors are missing
    with pytest.raises(CheckpointError): vgg.load({"conv.weight": torch.zeros(3)})
    bad = dict(full); bad["features.2.weight"] = torch.zeros(64, 64, 1, 1)
    with pytest.raises(CheckpointError, match="shape"): vgg.load(bad)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError): VGG19Features(tmp_path / "junk.pth")


def test_handcrafted_features_blocks_and_gradient(toy):
    img1, img3 = toy
    lab1, lab3 = segment(img1), segment(img3)
    x1, x3 = (torch.from_numpy(i).permute(2, 0, 1)[None].float() / 255 for i in (img1, img3))
    hf = HandcraftedFeatures()
    d1 = hf(x1, lab1, 6)
    assert d1.shape == (6, hf.dim) and torch.isfinite(d1).all()
    torch.testing.assert_close(d1.sum(1), torch.full((6,), sum(hf.weights.values())), atol=1e-4, rtol=0)  # fixed block masses
    # identical segments give identical descriptors up to position: the same frame shifted has the same colour/shape blocks
    lh = HandcraftedFeatures(learnable=True)
    torch.testing.assert_close(lh(x1, lab1, 6), d1)                                  # identity initialisation
    C = affinity(normalize_descriptors(lh(x1, lab1, 6)), normalize_descriptors(lh(x3, lab3, 6)), segment_stats(lab1), segment_stats(lab3))
    C.diagonal().sum().backward()
    g = lh.proj.weight.grad
    assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0
    with pytest.raises(InputError): HandcraftedFeatures(weights={"texture": 1.0})


# ---------------------------------------------------------------- matching
def _random_stats(rng, n, H=40, W=50):
    lab = rng.integers(0, n, (H, W)); lab[0, :n] = np.arange(n)   # every id present
    return segment_stats(lab)


def test_affinity_equals_naive_double_loop():
    rng = np.random.default_rng(3)
    N1, N3, D = 7, 5, 13
    p, q = normalize_descriptors(torch.rand(N1, D)), normalize_descriptors(torch.rand(N3, D))
    s1, s3 = _random_stats(rng, N1), _random_stats(rng, N3)
    s1.area[2], s3.area[1] = 400, 20                           # force a size penalty (r = 20)
    s1.centroid[4] = (0, 0); s3.centroid[3] = (49, 39)         # force a distance penalty
    C = affinity(p, q, s1, s3)
    diag = math.hypot(40, 50)
    for i in range(N1):
        for j in range(N3):
            c = float(torch.minimum(p[i], q[j]).sum())
            r = max(s1.area[i] / s3.area[j], s3.area[j] / s1.area[i])
            if r > 3: c -= r / 20
            d = math.hypot(*(s1.centroid[i] - s3.centroid[j])) / diag
            if d > 0.14: c -= d / 5
            assert float(C[i, j]) == pytest.approx(c, abs=1e-5)
    assert float(C[2, 1]) == pytest.approx(float(torch.minimum(p[2], q[1]).sum()) - 20 / 20, abs=1e-5)
    torch.testing.assert_close(histogram_intersection(p, q, max_elems=7), histogram_intersection(p, q))  # chunked == whole
    with pytest.raises(ShapeError): histogram_intersection(p, q[:, :5])


def test_mutual_matching_known_and_naive():
    C = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.7, 0.2]])
    rs13, m13, rs31, m31 = mutual_matching(C)
    assert m13.tolist() == [0, 0] and rs13.tolist() == [0, 1] and m31.tolist() == [0, 1, 1] and rs31.tolist() == [0, 1, 2]
    C = torch.rand(9, 6, generator=torch.Generator().manual_seed(4))
    rs13, m13, rs31, m31 = mutual_matching(C)
    R = torch.zeros(9, 6, dtype=torch.long)
    for i in range(9):
        for j in range(6):
            R[i, j] = int((C[i] > C[i, j]).sum()) + int((C[:, j] > C[i, j]).sum())
    torch.testing.assert_close(rs13, R.min(1)[0]); torch.testing.assert_close(rs31, R.min(0)[0])
    assert all(R[i, m13[i]] == rs13[i] for i in range(9))
    mutual = [(i, int(m13[i])) for i in range(9) if rs13[i] == 0]
    assert all(int(C[i].argmax()) == j and int(C[:, j].argmax()) == i for i, j in mutual)
    with pytest.raises(ShapeError): mutual_matching(torch.zeros(0, 3))


def test_segment_stats():
    lab = np.array([[0, 0, 1], [2, 1, 1]])
    st = segment_stats(lab)
    assert st.n == 3 and st.area.tolist() == [2, 3, 1]
    np.testing.assert_allclose(st.centroid[1], [(2 + 1 + 2) / 3, (0 + 1 + 1) / 3])
    assert st.bbox[1].tolist() == [1, 0, 2, 1] and st.pixels(1).tolist() == [2, 4, 5]
    with pytest.raises(InputError, match="without gaps"): segment_stats(np.array([[0, 2]]))
    with pytest.raises(ShapeError): segment_stats(np.zeros((2, 2)))


# ---------------------------------------------------------------- guidance flow and sgm_flows
def test_segment_flow_translation():
    rng = np.random.default_rng(5)
    ga = np.zeros((80, 100), np.uint8); gb = np.zeros_like(ga)
    la = np.zeros((80, 100), np.int64); lb = np.zeros_like(la)
    tex = rng.integers(60, 200, (20, 30)).astype(np.uint8)
    ga[20:40, 10:40] = tex; la[20:40, 10:40] = 1
    gb[27:47, 23:53] = tex; lb[27:47, 23:53] = 1                # moved by (+13, +7)
    f, overlap, ok = segment_flow(ga, la, 1, (10, 20, 39, 39), gb, lb, 1, (23, 27, 52, 46))
    assert ok and overlap > 0.8 and f.shape == (600, 2)
    np.testing.assert_allclose(f.mean(0), (13, 7), atol=0.3)


def test_segment_flow_rigid_move_skips_dis():
    from synthlab.flow import dis_flow
    from synthlab.anime.sgm import SGM_DIS
    rng = np.random.default_rng(6)
    tex = rng.integers(30, 220, (25, 33)).astype(np.uint8); tex[:5, :7] = 0                 # (black pixels inside too)
    np.testing.assert_array_equal(dis_flow(tex, tex, "medium", **SGM_DIS), 0)                 # DIS(I, I) is exactly 0
    ga, gb = np.zeros((90, 120), np.uint8), np.zeros((90, 120), np.uint8)
    la, lb = np.zeros((90, 120), np.int64), np.zeros((90, 120), np.int64)
    ga[10:35, 20:53] = tex; la[10:35, 20:53] = 1
    gb[40:65, 70:103] = tex; lb[40:65, 70:103] = 1                                             # moved by (+50, +30)
    f, overlap, ok = segment_flow(ga, la, 1, (20, 10, 52, 34), gb, lb, 1, (70, 40, 102, 64))
    assert ok and overlap == 1.0 and f.shape == (25 * 33, 2)
    assert (f == (50, 30)).all()                                                               # the box shift, exactly


def test_guidance_flow_full_res_max(toy):
    img1, img3 = toy
    l1, l3 = segment(img1), segment(img3)
    img3b = img3.copy(); img3b[l3 == 3] = np.clip(img3b[l3 == 3].astype(int) + np.arange((l3 == 3).sum())[:, None] % 7, 0, 255)
    m, rs = np.arange(6), np.zeros(6, int)
    exact = guidance_flow(l1, l3, img1, img3b, m, rs, full_res_max=None)                     # DIS at full resolution
    fast = guidance_flow(l1, l3, img1, img3b, m, rs)                                          # large patches from half
    big = guidance_flow(l1, l3, img1, img3b, m, rs, full_res_max=10 ** 9)
    np.testing.assert_array_equal(big["flow"], exact["flow"])
    assert fast["accepted"].tolist() == exact["accepted"].tolist() == [True] * 4 + [False] * 2
    for g in (exact, fast):                                                                    # the rectangle still moves by (-16, 10)
        np.testing.assert_allclose(g["seg_flow"][3], (-16, 10), atol=0.5)
    r = sgm_flows(img1, img3, full_res_max=None)                                              # and the fixture both ways
    np.testing.assert_array_equal(r.flow13, sgm_flows(img1, img3).flow13)


def test_guidance_flow_screening(toy):
    img1, img3 = toy
    l1, l3 = segment(img1), segment(img3)
    m = np.arange(6); rs = np.zeros(6, int); rs[1] = 1          # the ellipse is not a mutual match
    g = guidance_flow(l1, l3, img1, img3, m, rs)
    assert g["valid"].tolist() == [True, False, True, True, False, False]
    assert g["flow"].dtype == np.float32 and (g["flow"][:, l1 == 1] == 0).all()
    g = guidance_flow(l1, l3, img1, img3, np.array([2, 1, 0, 3, 4, 5]), np.zeros(6, int))   # eye and disc swapped
    assert not g["valid"][0] and not g["accepted"][2]          # area ratio 21 > 3; then the DIS overlap check fails


def test_sgm_result_api(toy_result):
    r = toy_result
    assert isinstance(r, SGMResult) and r.size == (448, 256) and "6/6" in repr(r)
    assert r.centroids1.shape == (6, 2) and r.scores.shape == (6, 6)
    F12, F21 = r.tensors()
    assert F12.shape == (1, 2, 256, 448) and F12.dtype == torch.float32
    F12s, _ = r.tensors((224, 128))
    assert F12s.shape == (1, 2, 128, 224)
    torch.testing.assert_close(F12s[0, :, 64, 60], F12[0, :, 128, 120] / 2)   # nearest + values scaled by the size ratio
    assert set(r.timings) == {"segment", "describe", "match", "guide"}
    import matplotlib; matplotlib.use("Agg")
    fig = plot_matches(r, *[toy_cartoon(s) for s in (0, 1)])
    assert fig is not None


def test_sgm_resize_and_guide(toy):
    assert ATD_SIZE == (960, 540)
    r = sgm_flows(*toy, size=(224, 128))
    assert r.flow13.shape == (2, 128, 224) and r.labels1.shape == (128, 224)
    f13, f31 = sgm_guide()(*toy)
    assert f13.shape == (256, 448, 2) and f31.shape == (256, 448, 2)
    with pytest.raises(InputError): sgm_guide(size=(10, 10))


def test_sgm_bad_inputs(toy):
    a, b = toy
    with pytest.raises(ShapeError, match="mismatched frame sizes"): sgm_flows(a, b[:200])
    with pytest.raises(ShapeError, match="grayscale"): sgm_flows(a[..., 0], b[..., 0])
    with pytest.raises(ShapeError, match="RGB"): sgm_flows(np.dstack([a, a[..., :1]]), np.dstack([b, b[..., :1]]))
    with pytest.raises(ShapeError, match="at least"): sgm_flows(a[:20, :20], b[:20, :20])
    with pytest.raises(InputError, match=r"\[0, 1\]"): sgm_flows(a.astype(np.float32), b.astype(np.float32))
    with pytest.raises(InputError, match="size"): sgm_flows(a, b, size=(10, 10))
    with pytest.raises(InputError, match="unknown line preset"): sgm_flows(a, b, preset="anime")
    with pytest.raises(ShapeError): sgm_flows(a, b, labels1=np.zeros((5, 5), int))
    with pytest.raises(ShapeError): sgm_flows(torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    r = sgm_flows(torch.from_numpy(a).permute(2, 0, 1).float() / 255, b)     # a (3, H, W) tensor is accepted
    assert r.labels1.shape == (256, 448)
    assert issubclass(ShapeError, SynthlabError)


# ---------------------------------------------------------------- a synthetic cel triplet with ground truth
def test_synthetic_triplet_segments_matched():
    data = pytest.importorskip("synthlab.anime.data")
    T = data.make_triplet(3, size=(448, 256))
    r = sgm_flows(T.frame1, T.frame3)
    assert r.accepted13.sum() >= 4
    def piece(gt, lab, i):                                     # the ground-truth piece most of segment i covers
        v = gt[(lab == i) & (gt > 0)]
        return np.bincount(v).argmax() if v.size else -1
    good = [piece(T.labels1, r.labels1, i) == piece(T.labels3, r.labels3, r.match13[i]) for i in np.flatnonzero(r.accepted13)]
    assert np.mean(good) >= 0.9
    on = r.flow13.any(0)
    err = np.hypot(*(r.flow13.transpose(1, 2, 0) - T.flow13)[on].T)
    mag = np.hypot(*T.flow13[on].T)
    assert err.mean() < 0.35 * mag.mean() and err.mean() < 4.0   # measured: 1.9 px error on 7.9 px motion (scaling, deformation)
