"""Tests for synthlab.anime.data: the synthetic cel-triplet generator, the ATD-12K layout and real frame sequences."""
import json, math, os, time
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image

from synthlab.core import SynthlabError, InputError, ShapeError, FileFormatError, MissingFileError, OverwriteError, img2tensor
from synthlab.flow import backward_warp, flow2tensor
from synthlab.io import write_image
from synthlab.anime.data import (TAGS, LINE_LABEL, Shape, Sprite, Background, CelScene, ATD12K, SynthTriplets, Triplet,
                                 difficulty_level, level_thresholds, make_scene, make_triplet, read_annotation, roi_box,
                                 scene_triplet, size_scale, triplets_from_sequence, load_frame_sequence, list_frames,
                                 write_atd12k, add_paint, Paint)

torch.set_num_threads(1)
SMALL = (128, 80)


# ---------------------------------------------------------------- helpers (independent of the implementation)
def erode(m, r):
    H, W = m.shape
    p, out = np.pad(m, r, constant_values=False), m.copy()
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1): out &= p[r + dy:r + dy + H, r + dx:r + dx + W]
    return out

def same_piece(lab, r=1):
    H, W = lab.shape
    p, out = np.pad(lab, r, mode="edge"), lab != LINE_LABEL
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1): out &= p[r + dy:r + dy + H, r + dx:r + dx + W] == lab
    return out

def warp(img, flow_hw2):
    "backward_warp of a (H,W,C) array by a NumPy (H,W,2) flow, back to (H,W,C)."
    x = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)[None]
    return backward_warp(x, flow2tensor(flow_hw2))[0].permute(1, 2, 0).numpy()

def checked(valid, labels):
    "Valid, non-line pixels whose 5x5 neighbourhood is one piece and also valid: where bilinear sampling is exact."
    return erode(valid & same_piece(labels), 2)

@pytest.fixture(scope="module")
def trips():
    return [make_triplet(s, SMALL) for s in range(12)]


# ---------------------------------------------------------------- levels, shapes, maps
def test_level_thresholds_known_values():
    assert level_thresholds((960, 540)) == (15.0, 40.0)
    np.testing.assert_allclose(level_thresholds((480, 270)), (7.5, 20.0))
    assert size_scale((1920, 1080)) == pytest.approx(2.0)
    assert [difficulty_level(d) for d in (0, 14.99, 15, 39.99, 40)] == [0, 0, 1, 1, 2]
    with pytest.raises(InputError, match="integers >= 16"): level_thresholds((8, 100))
    with pytest.raises(InputError): size_scale("big")

def test_shape_sdf_known_values():
    rr = Shape("rrect", dict(hx=40, hy=20, r=5))
    np.testing.assert_allclose(rr.sdf(np.array([0., 43., 0., 40.]), np.array([0., 0., 23., 10.])), [-20, 3, 3, 0], atol=1e-6)
    hexa = Shape("polygon", dict(n=6, R=10, rot=0.0))
    np.testing.assert_allclose(hexa.sdf(np.array([0.0]), np.array([0.0])), [-10 * math.cos(math.pi / 6)], atol=1e-6)
    el = Shape("ellipse", dict(a=30, b=10))
    np.testing.assert_allclose(el.sdf(np.array([30., 0., 0.]), np.array([0., 12., 0.])), [0, 2, -10], atol=0.05)
    disc = Shape("radial", dict(R0=20, k=[3], amp=[0.0], psi=[0.0]))   # zero amplitude: a disc, exact distance
    np.testing.assert_allclose(disc.sdf(np.array([25., 0.]), np.array([0., 5.])), [5, -15], atol=1e-5)
    with pytest.raises(InputError, match="unknown shape"): Shape("heart", {}).sdf(np.zeros(1), np.zeros(1))

def _sprite(**mo):
    base = dict(M=(60, 40), Q1=(10, 3), Q2=(20, 6), gc=1.0, th=0.0, dth=0.0, gr=1.0, ls=0.0, dls=0.0, sq=0.0, dsq=0.0, gs=1.0,
                a=0.0, da=0.0, wa=1.0, pa=0.0, dpa=0.0, b=0.0, db=0.0, wb=1.0, pb=0.0, dpb=0.0, gd=1.0)
    return Sprite(Shape("ellipse", dict(a=15, b=10)), 2.0, 2, None, [], base | mo, "s0")

def test_sprite_maps_are_exact_inverses():
    sp = _sprite(th=0.4, dth=0.7, gr=0.7, ls=0.2, dls=-0.3, sq=0.1, dsq=0.2, a=5.0, da=4.0, wa=0.3, pa=1.0, dpa=2.0,
                 b=4.0, db=-3.0, wb=0.25, pb=0.5, dpb=-1.5, Q1=(40, -30), gc=1.6)
    rng = np.random.default_rng(1)
    X, Y = rng.uniform(-50, 200, 2000), rng.uniform(-50, 150, 2000)
    for t in (0.0, 0.3, 0.5, 1.0):
        P = sp.pose(t, alpha=1.7)
        u = sp.to_sprite(P, X, Y)
        np.testing.assert_allclose(np.stack(sp.to_image(P, *u)), np.stack([X, Y]), atol=1e-9)
    # a linear path with no easing: the middle is the average; a bent, eased one: it is not
    lin = [_sprite().pose(t) for t in (0, .5, 1)]
    assert lin[1]["cx"] == pytest.approx((lin[0]["cx"] + lin[2]["cx"]) / 2)
    bent = [sp.pose(t) for t in (0, .5, 1)]
    assert abs(bent[1]["cx"] - (bent[0]["cx"] + bent[2]["cx"]) / 2) > 5


# ---------------------------------------------------------------- a hand-built scene with known flow
def _known_scene():
    "One outlined ellipse on a sky/ground background, moving (+20, +6) px linearly from frame 1 to 3."
    bg = Background("bands", dict(sky=1, clouds=[], hz=60.0, hills=None, ground=2, line_w=1.5))
    sp = _sprite()
    pal = np.array([[20, 20, 20], [170, 210, 240], [120, 190, 110], [230, 80, 60]], np.uint8)
    sp.fill_id = 3
    sc = CelScene((128, 80), bg, [sp], pal, ["line", "bg.sky", "bg.ground", "s0.fill"], seed=0)
    return sc

def test_known_motion_flow_values():
    sc = _known_scene()
    T = scene_triplet(sc, "known")
    on1 = T.layers1 == 0
    assert on1.sum() > 300
    np.testing.assert_allclose(T.flow13[on1], np.broadcast_to([20, 6], (on1.sum(), 2)), atol=1e-4)
    np.testing.assert_allclose(T.flow21[T.layers2 == 0], np.broadcast_to([-10, -3], ((T.layers2 == 0).sum(), 2)), atol=1e-4)
    np.testing.assert_allclose(T.flow23[T.layers2 == 0], np.broadcast_to([10, 3], ((T.layers2 == 0).sum(), 2)), atol=1e-4)
    assert np.abs(T.flow13[~on1]).max() == 0                    # static background
    assert T.tags == ["translation"]
    # the ellipse (a=15, b=10) sits at centre (50,37), (60,40), (70,43) in frames 1..3: the RoI is its union
    assert T.roi == dict(x=35, y=27, width=51, height=27)
    assert T.mean_disp == pytest.approx(math.hypot(20, 6), abs=1e-4)
    assert T.level == difficulty_level(math.hypot(20, 6), (128, 80)) == 2
    # background pixels that the ellipse covers in frame 3 are occluded there, everything else is visible
    occluded = (T.layers1 == -1) & (T.layers3 == 0)
    assert not T.valid13[occluded].any() and T.valid13[~occluded].all()
    assert set(np.unique(T.labels1)) == {0, 1, 2, 3}


# ---------------------------------------------------------------- random triplets
def test_make_triplet_smoke(trips):
    W, H = SMALL
    for T in trips:
        for f in T.frames: assert f.shape == (H, W, 3) and f.dtype == np.uint8
        for k in ("13", "31", "21", "23"):
            fl, v = getattr(T, "flow" + k), getattr(T, "valid" + k)
            assert fl.shape == (H, W, 2) and fl.dtype == np.float32 and np.isfinite(fl).all()
            assert v.shape == (H, W) and v.dtype == np.bool_
        for i in (1, 2, 3): assert getattr(T, f"labels{i}").shape == (H, W)
        r = T.roi
        assert set(r) == {"x", "y", "width", "height"} and all(isinstance(v, int) for v in r.values())
        assert 0 <= r["x"] and r["x"] + r["width"] <= W and 0 <= r["y"] and r["y"] + r["height"] <= H and r["width"] > 0
        assert T.level in (0, 1, 2) and set(T.tags) <= set(TAGS)
        assert T.name == f"Synth_v1_{T.meta['seed']:06d}_s{T.meta['n_sprites']}"

def test_determinism():
    a, b = make_triplet(5, SMALL), make_triplet(5, SMALL)
    for k in ("frame1", "frame2", "frame3", "flow13", "flow31", "flow21", "flow23", "valid13", "valid23", "labels1", "labels3"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    assert (a.roi, a.level, a.tags, a.name) == (b.roi, b.level, b.tags, b.name)
    c = make_triplet(6, SMALL)
    assert not np.array_equal(a.frame1, c.frame1)
    np.testing.assert_array_equal(make_triplet(5, SMALL, n_sprites=3, level=1).frame2, make_triplet(5, SMALL, n_sprites=3, level=1).frame2)

def test_gt_flow_warp_reproduces_frames(trips):
    "backward_warp(frame_b, flow_ab) == frame_a on valid non-outline pixels away from piece/occlusion edges."
    for T in trips:
        for a, b, k, lab in ((T.frame1, T.frame3, "13", T.labels1), (T.frame3, T.frame1, "31", T.labels3),
                             (T.frame2, T.frame1, "21", T.labels2), (T.frame2, T.frame3, "23", T.labels2)):
            m = checked(getattr(T, "valid" + k), lab)
            assert m.mean() > 0.4, (T.name, k)
            err = np.abs(warp(b.astype(np.float32), getattr(T, "flow" + k)) - a).max(-1)[m]
            assert err.max() < 3 and err.mean() < 0.05, (T.name, k, err.max())

def test_gt_flow_is_not_trivial(trips):
    "The same warp with a zero flow must fail on moving triplets (the check above can fail)."
    T = max(trips, key=lambda t: t.mean_disp)
    m = checked(T.valid13, T.labels1)
    err = np.abs(warp(T.frame3.astype(np.float32), np.zeros_like(T.flow13)) - T.frame1).max(-1)[m]
    assert err.max() > 20

def test_cycle_consistency(trips):
    for T in trips:
        for f_ab, f_ba, v, lab in ((T.flow13, T.flow31, T.valid13, T.labels1), (T.flow31, T.flow13, T.valid31, T.labels3)):
            m = checked(v, lab)
            back = warp(f_ba, f_ab)                   # f_ba sampled at p + f_ab(p)
            cyc = np.hypot(*(f_ab + back)[m].T)
            assert cyc.max() < 0.3, (T.name, cyc.max())

def test_valid_masks_mean_visible(trips):
    W, H = SMALL
    ys, xs = np.mgrid[0:H, 0:W]
    for T in trips:
        tx, ty = xs + T.flow13[..., 0], ys + T.flow13[..., 1]
        outside = (tx < -0.5) | (tx >= W - 0.5) | (ty < -0.5) | (ty >= H - 0.5)
        assert not T.valid13[outside].any()
        # a visible point lands (to the nearest pixel) on the same layer in frame 3, up to edge pixels
        ix, iy = np.clip(np.round(tx), 0, W - 1).astype(int), np.clip(np.round(ty), 0, H - 1).astype(int)
        same = T.layers3[iy, ix] == T.layers1
        assert same[T.valid13].mean() > 0.97
        # and an in-frame point is invalid only because another layer covers it there
        assert (~same[~T.valid13 & ~outside]).mean() > 0.8 if (~T.valid13 & ~outside).sum() > 20 else True

def test_label_maps_are_flat_colour_pieces(trips):
    for T in trips:
        pal = {}
        for f, lab in zip(T.frames, (T.labels1, T.labels2, T.labels3)):
            for i in np.unique(lab):
                cols = np.unique(f[lab == i], axis=0)
                assert len(cols) == 1, (T.name, i)                       # one flat colour per piece in a frame
                assert tuple(pal.setdefault(int(i), tuple(cols[0]))) == tuple(cols[0])   # and the same in every frame
        names = {p["id"]: p["name"] for p in T.meta["pieces"]}
        assert names[LINE_LABEL] == "line" and max(pal[LINE_LABEL]) < 60   # dark ink
        assert any(n.startswith("bg.") for n in names.values()) and any(n.endswith(".fill") for n in names.values())

def test_levels_hit_their_displacement_ranges():
    W, H = SMALL
    t1, t2 = level_thresholds(SMALL)
    thr = max(0.5, size_scale(SMALL))
    ranges = {0: (0, t1), 1: (t1, t2), 2: (t2, np.inf)}
    for level in (0, 1, 2):
        for seed in (0, 1, 2):
            T = make_triplet(seed, SMALL, level=level)
            d = np.hypot(*T.flow13.transpose(2, 0, 1))
            moving = (T.layers1 >= 0) & (d > thr)
            mean = d[moving].mean()
            assert T.level == level and ranges[level][0] <= mean < ranges[level][1], (level, seed, mean)
            assert mean == pytest.approx(T.mean_disp, rel=1e-5)

def test_level_none_gives_all_levels(trips):
    assert {T.level for T in trips} == {0, 1, 2}

def test_hard_motion_is_large_and_nonlinear():
    W, H = 480, 270
    thr = max(0.5, size_scale((W, H)))
    big, bent = [], []
    for seed in range(3):
        T = make_triplet(seed, (W, H), level=2)
        fg = T.layers1 >= 0
        big.append(np.hypot(*T.flow13[fg].T).max())
        m = T.valid21 & T.valid23 & (T.layers2 >= 0) & (np.hypot(*T.flow23.transpose(2, 0, 1)) > thr)
        bent.append(np.hypot(*(T.flow21 + T.flow23)[m].T).mean())   # 0 for motion at constant velocity on a line
    assert max(big) > 40          # > 80 px at 960x540
    assert min(bent) > 0.5, bent

def test_roi_is_the_box_of_moving_pixels(trips):
    thr = max(0.5, size_scale(SMALL))
    for T in trips:
        mv = ((T.layers1 >= 0) & (np.hypot(*T.flow13.transpose(2, 0, 1)) > thr)) | \
             ((T.layers3 >= 0) & (np.hypot(*T.flow31.transpose(2, 0, 1)) > thr)) | \
             ((T.layers2 >= 0) & (np.maximum(np.hypot(*T.flow21.transpose(2, 0, 1)), np.hypot(*T.flow23.transpose(2, 0, 1))) > thr))
        if not mv.any(): continue
        ys, xs = np.nonzero(mv)
        assert T.roi == dict(x=int(xs.min()), y=int(ys.min()), width=int(xs.max() - xs.min() + 1), height=int(ys.max() - ys.min() + 1))

def test_occlusion_tag_and_make_triplet_errors():
    tagged = [make_triplet(s, SMALL, n_sprites=5) for s in range(6)]
    assert any("occlusion" in T.tags for T in tagged)
    assert all("occlusion" not in T.tags for T in [make_triplet(s, SMALL, n_sprites=1) for s in range(3)])
    with pytest.raises(InputError, match="non-negative"): make_triplet(-3, SMALL)
    with pytest.raises(InputError, match="size"): make_triplet(0, (10, 10))
    with pytest.raises(InputError, match="level"): make_triplet(0, SMALL, level=5)
    with pytest.raises(InputError, match="n_sprites"): make_triplet(0, SMALL, n_sprites=0)

def test_speed():
    t0 = time.perf_counter(); make_triplet(1, (256, 160)); small = time.perf_counter() - t0
    t0 = time.perf_counter(); make_triplet(1, (960, 540)); big = time.perf_counter() - t0
    assert small < 0.5 and big < 5, (small, big)    # ~15 ms and ~0.3 s on one idle core


# ---------------------------------------------------------------- painted frames (add_paint / texture=)
def test_paint_smoke_keeps_ground_truth():
    flat, painted = make_triplet(4, SMALL, level=1), make_triplet(4, SMALL, level=1, texture=0.8)
    for k in ("flow13", "flow31", "flow21", "flow23", "valid13", "valid31", "labels1", "labels2", "labels3", "layers2"):
        assert np.array_equal(getattr(flat, k), getattr(painted, k)), k
    assert (flat.level, flat.roi, flat.tags) == (painted.level, painted.roi, painted.tags)
    assert painted.frame1.dtype == np.uint8 and painted.frame1.shape == flat.frame1.shape
    assert painted.meta["texture"] == 0.8 and "texture" not in flat.meta
    d = np.abs(painted.frame2.astype(int) - flat.frame2).mean(-1)
    assert d[flat.labels2 != LINE_LABEL].mean() > 2 and d[flat.labels2 == LINE_LABEL].max() <= 12   # pieces painted, ink (nearly) flat
    again = make_triplet(4, SMALL, level=1, texture=0.8)
    assert all(np.array_equal(a, b) for a, b in zip(again.frames, painted.frames))      # deterministic
    assert make_scene(4, SMALL, level=1, texture=0).paint is None
    assert np.array_equal(make_triplet(4, SMALL, level=1, texture=0).frame1, flat.frame1)

def _pan_only_scene(shift=8.0):
    sc = make_scene(2, SMALL, level=0)
    sc.sprites = []
    sc.background.pan, sc.background.gp = (shift, 0.0), 1.0     # offset(t) = shift * (t - 0.5): integer pixels at t = 0, 1
    add_paint(sc, 1.0)
    return sc

def test_paint_moves_exactly_with_the_background():
    "Known value: a background panned by 8 px carries its paint 8 px (no grain: pixel-exact)."
    sc = _pan_only_scene(8.0)
    sc.paint.grain = 0.0
    f1, f3 = sc.render(0.0)[0], sc.render(1.0)[0]
    assert np.array_equal(f3[:, 8:], f1[:, :-8])
    assert np.abs(f1[:, 1:].astype(int) - f1[:, :-1]).mean() > 1     # and the paint is really there (not a flat wall)

def test_paint_is_attached_to_sprite_space():
    "A sprite's paint depends on its sprite-space coordinates only, not on where the sprite is in the image."
    sc = add_paint(make_scene(6, SMALL, n_sprites=2, level=1), 1.0)
    sc.paint.grain = 0.0
    n = 500
    rng = np.random.default_rng(0)
    UX, UY = rng.uniform(-20, 20, n).astype(np.float32), rng.uniform(-20, 20, n).astype(np.float32)
    layer, pid = np.ones(n, np.int16), np.full(n, 3, np.int32)
    img = np.full((n, 3), 128, np.uint8)
    X1, Y1 = rng.uniform(0, 100, n).astype(np.float32), rng.uniform(0, 60, n).astype(np.float32)
    a = sc.paint.apply(img, pid, layer, UX, UY, X1, Y1, (0.0, 0.0), 0.0)
    b = sc.paint.apply(img, pid, layer, UX, UY, X1 + 17, Y1 - 5, (3.0, 1.0), 1.0)
    assert np.array_equal(a, b) and a.std() > 1
    bg = sc.paint.apply(img, pid, np.full(n, -1, np.int16), UX, UY, X1, Y1, (0.0, 0.0), 0.0)
    assert not np.array_equal(a, bg)                                   # background paint reads the image coordinates instead

def test_paint_grain():
    "Grain is fresh in every frame, deterministic, and has the drawn standard deviation."
    sc = _pan_only_scene(0.0)
    g = sc.paint.grain
    assert 0.5 <= g <= 3.0
    noisy = sc.render(0.5)[0].astype(float)
    assert np.array_equal(noisy, sc.render(0.5)[0])
    sc.paint.grain = 0.0
    clean = sc.render(0.5)[0].astype(float)
    resid = (noisy - clean)[..., 0]
    assert abs(resid.std() - g) < 0.25 * g + 0.3, (resid.std(), g)     # rounding to uint8 adds ~0.29 levels
    sc.paint.grain = g
    assert not np.array_equal(sc.render(0.0)[0], sc.render(1.0)[0])   # static scene: frames differ by grain only

def test_paint_errors():
    for bad in (1.5, -0.1, True, "a", None):
        with pytest.raises(InputError, match="texture must be"): make_scene(0, SMALL, texture=bad)
    with pytest.raises(InputError, match="texture must be"): add_paint(make_scene(0, SMALL), 2)
    with pytest.raises(InputError, match="non-negative"): add_paint(make_scene(0, SMALL), 0.5, seed=-1)


# ---------------------------------------------------------------- ATD-12K layout
@pytest.fixture(scope="module")
def atd(tmp_path_factory):
    root = tmp_path_factory.mktemp("atd") / "datasets"
    write_atd12k(root, n_train=2, n_test=3, size=(96, 64), seed=3, guide="oracle", progress=False)
    return root

def test_atd_layout_exact(atd):
    assert sorted(p.name for p in atd.iterdir()) == ["synthlab_gt", "test_2k_540p", "test_2k_annotations",
                                                    "test_2k_pre_calc_sgm_flows", "train_10k"]
    train, test = sorted(os.listdir(atd / "train_10k")), sorted(os.listdir(atd / "test_2k_540p"))
    assert len(train) == 2 and len(test) == 3 and not set(train) & set(test)
    for c in train + test: assert c.startswith("Synth_v1_") and c.rsplit("_", 1)[1][0] == "s"
    for c in train: assert sorted(os.listdir(atd / "train_10k" / c)) == ["frame1.jpg", "frame2.jpg", "frame3.jpg"]
    for c in test:
        assert sorted(os.listdir(atd / "test_2k_540p" / c)) == ["frame1.png", "frame2.png", "frame3.png"]
        assert os.listdir(atd / "test_2k_annotations" / c) == [f"{c}.json"]
        assert sorted(os.listdir(atd / "test_2k_pre_calc_sgm_flows" / c)) == ["guide_flo13.npy", "guide_flo31.npy"]
        assert np.load(atd / "test_2k_pre_calc_sgm_flows" / c / "guide_flo13.npy").shape == (2, 64, 96)
        ann = json.loads((atd / "test_2k_annotations" / c / f"{c}.json").read_text())
        assert ann["image_size"] == [96, 64] and ann["level"] in (0, 1, 2)
        assert set(ann["motion_RoI"]) == {"x", "y", "width", "height"} and all(type(v) is int for v in ann["motion_RoI"].values())
        assert set(ann["motion_tags"]) <= set(TAGS) and ann["synthlab"]["seed"] == int(c.split("_")[2])
        # the annotation rebuilds the clip exactly
        T = make_triplet(ann["synthlab"]["seed"], tuple(ann["synthlab"]["size"]), ann["synthlab"]["n_sprites"])
        assert T.name == c and T.roi == ann["motion_RoI"] and T.level == ann["level"] and T.tags == ann["motion_tags"]
    for c in train + test:
        assert sorted(os.listdir(atd / "synthlab_gt" / c)) == sorted(
            [f"flow{k}.npy" for k in ("13", "31", "21", "23")] + [f"valid{k}.png" for k in ("13", "31", "21", "23")]
            + [f"labels{i}.png" for i in (1, 2, 3)] + ["meta.json"])

def test_atd_round_trip(atd):
    ds = ATD12K(atd, "test")
    assert len(ds) == 3 and ds.clips == sorted(ds.clips)
    for i in range(len(ds)):
        s = ds[i]
        ann = read_annotation(atd / "test_2k_annotations" / s["name"] / f"{s['name']}.json")
        T = make_triplet(ann["synthlab"]["seed"], (96, 64), ann["synthlab"]["n_sprites"])
        for j, f in enumerate(T.frames, 1): assert torch.equal(s[f"frame{j}"], img2tensor(f)[0])      # PNG: lossless
        for k in ("13", "31", "21", "23"):
            assert torch.equal(s["flow" + k], torch.from_numpy(getattr(T, "flow" + k)).permute(2, 0, 1))
            assert torch.equal(s["valid" + k], torch.from_numpy(getattr(T, "valid" + k)))
        assert torch.equal(s["labels2"], torch.from_numpy(T.labels2.astype(np.int64)))
        assert torch.equal(s["guide_flo13"], s["flow13"])                                               # oracle guide
        r = T.roi
        assert s["roi"].tolist() == [r["x"], r["y"], r["width"], r["height"]] == s["roi_box"].tolist()
        assert int(s["level"]) == T.level and s["image_size"].tolist() == [96, 64]
        assert s["tags"].tolist() == [float(t in T.tags) for t in TAGS]
        assert set(T.to_sample()) <= set(s)                                                             # same keys
    tr = ATD12K(atd, "train")
    s = tr[0]
    T = make_triplet(int(tr.clips[0].split("_")[2]), (96, 64), int(tr.clips[0].split("_s")[-1]))
    assert (s["frame2"] - img2tensor(T.frame2)[0]).abs().mean() < 0.03                                # JPEG: close
    assert "level" not in s and "flow13" in s
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))
    assert batch["frame1"].shape == (2, 3, 64, 96) and batch["roi"].shape == (2, 4)

def test_atd_painted(tmp_path):
    "`write_atd12k(texture=)` writes painted frames with the flat scene's ground truth; the annotation records the strength."
    root = write_atd12k(tmp_path / "d", n_test=1, size=(96, 64), seed=5, progress=False, texture=0.6)
    s = ATD12K(root, "test")[0]
    ann = read_annotation(root / "test_2k_annotations" / s["name"] / f"{s['name']}.json")
    assert ann["synthlab"]["texture"] == 0.6
    T = make_triplet(ann["synthlab"]["seed"], (96, 64), ann["synthlab"]["n_sprites"], texture=0.6)
    flat = make_triplet(ann["synthlab"]["seed"], (96, 64), ann["synthlab"]["n_sprites"])
    assert torch.equal(s["frame2"], img2tensor(T.frame2)[0]) and not torch.equal(s["frame2"], img2tensor(flat.frame2)[0])
    assert torch.equal(s["flow13"], torch.from_numpy(flat.flow13).permute(2, 0, 1))
    with pytest.raises(InputError, match="texture must be"): write_atd12k(tmp_path / "e", n_test=1, texture=3, progress=False)

def test_atd_resize_like_official(atd):
    ds = ATD12K(atd, "test", size=(48, 32))
    s, full = ds[0], ATD12K(atd, "test")[0]
    c = ds.clips[0]
    ref = np.array(Image.open(atd / "test_2k_540p" / c / "frame1.png").convert("RGB").resize((48, 32), Image.LANCZOS))
    assert torch.equal(s["frame1"], img2tensor(ref)[0])
    # nearest resize + scale: every resized vector is a source vector scaled by 1/2
    g, gf = s["guide_flo13"], full["guide_flo13"]
    assert g.shape == (2, 32, 48)
    assert torch.equal(g, gf[:, ::2, ::2] * 0.5)
    assert s["roi_box"].tolist() == list(roi_box(dict(zip(("x", "y", "width", "height"), full["roi"].tolist())), [96, 64], (48, 32)))
    assert s["labels1"].shape == (32, 48) and s["valid13"].dtype == torch.bool

def test_atd_follows_official_frame_order(tmp_path):
    d = tmp_path / "ds" / "train_10k" / "clipA"; d.mkdir(parents=True)
    cols = {"a.png": 10, "m.png": 120, "z.png": 250}
    for n, v in cols.items(): write_image(np.full((20, 24, 3), v, np.uint8), d / n)
    s = ATD12K(tmp_path / "ds", "train")[0]
    assert [round(float(s[k][0, 0, 0]) * 255) for k in ("frame1", "frame2", "frame3")] == [10, 120, 250]

def test_atd_overwrite(atd):
    with pytest.raises(OverwriteError, match="already exist"):
        write_atd12k(atd, n_train=1, size=(96, 64), seed=3, progress=False)
    write_atd12k(atd, n_train=1, size=(96, 64), seed=3, progress=False, force=True)
    assert len(os.listdir(atd / "train_10k")) == 2      # the same first clip, rewritten
    with pytest.raises(InputError, match="nothing to write"): write_atd12k(atd, progress=False)
    with pytest.raises(InputError, match="guide"): write_atd12k(atd / "x", n_test=1, size=(96, 64), guide="magic", progress=False)

def test_atd_loader_errors(tmp_path, atd):
    with pytest.raises(MissingFileError, match="does not exist"): ATD12K(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="no 'test' split"): ATD12K(tmp_path / "empty", "test")
    with pytest.raises(InputError, match="split"): ATD12K(atd, "val")
    bad = tmp_path / "bad" / "test_2k_540p"
    (bad / "c2").mkdir(parents=True)
    for i in (1, 2): write_image(np.zeros((8, 8, 3), np.uint8), bad / "c2" / f"frame{i}.png")
    with pytest.raises(FileFormatError, match="clip c2 .* 2 frame"): ATD12K(tmp_path / "bad")
    write_image(np.zeros((8, 8, 3), np.uint8), bad / "c2" / "frame3.png")
    (bad / "c3").mkdir()
    for i, s in ((1, 8), (2, 8), (3, 10)): write_image(np.zeros((s, 8, 3), np.uint8), bad / "c3" / f"frame{i}.png")
    ds = ATD12K(tmp_path / "bad")
    assert len(ds[0]["frame1"].shape) == 3
    with pytest.raises(ShapeError, match="clip c3 .*mismatched sizes"): ds[1]
    ann = tmp_path / "bad" / "test_2k_annotations" / "c2"; ann.mkdir(parents=True)
    (ann / "c2.json").write_text("{not json")
    with pytest.raises(FileFormatError, match=r"c2\.json is not valid JSON"): ATD12K(tmp_path / "bad")[0]
    (ann / "c2.json").write_text(json.dumps({"image_size": [8, 8], "level": 1}))
    with pytest.raises(FileFormatError, match="motion_RoI"): ATD12K(tmp_path / "bad")[0]


def test_atd_guide_variants_and_missing_parts(tmp_path):
    root = write_atd12k(tmp_path / "d", n_test=1, size=(64, 48), seed=0, guide="dis", progress=False)
    s = ATD12K(root)[0]
    assert s["guide_flo13"].shape == (2, 48, 64) and not torch.equal(s["guide_flo13"], s["flow13"])
    const = lambda a, b: (np.full(a.shape[:2] + (2,), 3.0, np.float32), np.full(a.shape[:2] + (2,), -3.0, np.float32))
    root2 = write_atd12k(tmp_path / "e", n_test=1, size=(64, 48), seed=0, guide=const, progress=False)
    assert (ATD12K(root2)[0]["guide_flo31"] == -3).all()
    with pytest.raises(ShapeError, match="guide returned"):
        write_atd12k(tmp_path / "f", n_test=1, size=(64, 48), guide=lambda a, b: (np.zeros((2, 48, 64)),) * 2, progress=False)
    c = ATD12K(root2).clips[0]
    (root2 / "test_2k_pre_calc_sgm_flows" / c / "guide_flo31.npy").unlink()
    with pytest.raises(MissingFileError, match="guide_flo31.npy does not exist"): ATD12K(root2)[0]
    (root2 / "test_2k_pre_calc_sgm_flows" / c / "guide_flo13.npy").write_bytes(b"junk")
    with pytest.raises(FileFormatError, match="guide_flo13.npy is not a readable"): ATD12K(root2)[0]
    import shutil; shutil.rmtree(root2 / "test_2k_pre_calc_sgm_flows" / c)
    with pytest.raises(MissingFileError, match=f"no folder for clip {c}"): ATD12K(root2)[0]
    shutil.rmtree(root2 / "test_2k_pre_calc_sgm_flows")
    assert "guide_flo13" not in ATD12K(root2)[0]
    shutil.rmtree(root2 / "synthlab_gt" / c)
    with pytest.raises(MissingFileError, match="gt=False"): ATD12K(root2)[0]
    with pytest.raises(InputError, match="no RoI"): Triplet(*make_triplet(0, (64, 48)).frames).annotation()


# ---------------------------------------------------------------- frame sequences
def test_sequences_synthetic(tmp_path):
    for i in range(5): write_image(np.full((12, 16, 3), 40 * i, np.uint8), tmp_path / f"{i:04d}.png")
    (tmp_path / "README.md").write_text("not a frame")
    assert [p.name for p in list_frames(tmp_path)] == [f"{i:04d}.png" for i in range(5)]
    ts = triplets_from_sequence(tmp_path)
    assert len(ts) == 3 and ts[0].name == f"{tmp_path.name}/0000-0002"
    assert [int(f[0, 0, 0]) for f in ts[1].frames] == [40, 80, 120]
    ts2 = triplets_from_sequence(tmp_path, step=2)
    assert len(ts2) == 1 and [int(f[0, 0, 0]) for f in ts2[0].frames] == [0, 80, 160]
    with pytest.raises(InputError, match="at least 7"): triplets_from_sequence(tmp_path, step=3)
    with pytest.raises(MissingFileError): load_frame_sequence(tmp_path / "missing")
    write_image(np.zeros((12, 18, 3), np.uint8), tmp_path / "0005.png")
    with pytest.raises(ShapeError, match="0005.png is 18x12"): load_frame_sequence(tmp_path)

AOT_SHOTS = {"AoT_S4E16_shot1": 3, "AoT_S4E16_shot2": 7, "AoT_S4E4_shot1": 25, "AoT_S4E4_shot2": 1}

def test_real_sequences(shared_data):
    aot = shared_data / "anime_aot_sequences"
    if not aot.is_dir(): pytest.skip("anime_aot_sequences not present")
    total = 0
    for shot, n in AOT_SHOTS.items():
        ts = triplets_from_sequence(aot / shot)
        assert len(ts) == n and all(t.size == (640, 360) for t in ts)
        total += len(ts)
    assert total == 36
    nat = triplets_from_sequence(aot / "native_1280x720_AoT_S4E4_shot2")
    assert len(nat) == 1 and nat[0].size == (1280, 720)
    sintel = triplets_from_sequence(shared_data / "sintel_raft_demo")
    assert len(sintel) == 4 and sintel[0].size == (1024, 436) and sintel[0].frame1.dtype == np.uint8
    assert [Path(f).name for f in sintel[-1].meta["files"]] == ["frame_0019.png", "frame_0020.png", "frame_0021.png"]


# ---------------------------------------------------------------- on-the-fly dataset
def test_synth_triplets_dataset():
    ds = SynthTriplets(3, (64, 48), seed=4, level=1)
    assert len(ds) == 3
    s = ds[1]
    assert torch.equal(s["frame2"], img2tensor(make_triplet(5, (64, 48), level=1).frame2)[0]) and int(s["level"]) == 1
    with pytest.raises(IndexError): ds[3]
    with pytest.raises(InputError): SynthTriplets(0)
