"Tests for synthlab.forensics.evaluate: ForgeryNet's metrics on hand-made arrays, the cross-forgery matrix, robustness curves and the model wrappers."
import os
os.environ.setdefault("MPLBACKEND", "Agg")
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from synthlab.core import InputError, ShapeError
from synthlab.forensics.evaluate import (
    TRI_NAMES, method_table, meta_groups, image_metrics, simulate_scores, plot_method_rocs, plot_confusion, mask_metrics,
    video_metrics, temporal_metrics, ForgeryMatrix, cross_forgery_matrix, RobustnessCurves, robustness_curves,
    detector_score_fn, score_images, eval_images, score_masks, eval_masks, eval_videos, eval_temporal)

torch.set_num_threads(1)

@pytest.fixture(autouse=True)
def _close_figs():
    yield
    plt.close("all")

# ---------------------------------------------------------------- labels
def test_meta_groups_cover_all_fake_ids():
    g = meta_groups()
    assert sorted(g["ID-replaced"] + g["ID-remained"]) == list(range(1, 16))
    assert g["ID-replaced"] == [1, 2, 3, 4, 5, 6, 9]
    assert 7 not in meta_groups(exclude=[7])["ID-remained"]
    tab = method_table()
    assert tab[0][1] == 0 and tab[7][1] == 1 and tab[4][1] == 2

# ---------------------------------------------------------------- image metrics
def test_image_perfect_separation():
    p = np.array([0.0, 0.1, 0.2, 0.7, 0.8, 0.9])
    m = image_metrics(p, cls=[0, 0, 0, 1, 4, 11])
    assert m["auc"] == 1.0 and m["eer"] == 0.0 and m["acc"] == 1.0 and m["ap"] == 1.0
    assert m["n_real"] == 3 and m["n_fake"] == 3
    assert m["per_method_auc"] == {1: 1.0, 4: 1.0, 11: 1.0}
    assert m["per_meta_auc"] == {"ID-replaced": 1.0, "ID-remained": 1.0}

def test_image_reversed_scores():
    p = np.array([0.9, 0.8, 0.2, 0.1])
    m = image_metrics(p, bin=[0, 0, 1, 1])
    assert m["auc"] == 0.0 and m["eer"] == 1.0 and m["acc"] == 0.0
    assert "per_method_auc" not in m               # no cls given

def test_per_method_auc_uses_only_that_method_and_all_reals():
    # reals 0.2, 0.4, 0.6; method 4 fakes 0.5 (beats 2 of 3 reals), 0.7 (beats 3); method 12 fake 0.1 (beats none)
    p = [0.2, 0.4, 0.6, 0.5, 0.7, 0.1]
    c = [0, 0, 0, 4, 4, 12]
    m = image_metrics(p, cls=c)
    assert m["per_method_auc"][4] == pytest.approx(5 / 6)
    assert m["per_method_auc"][12] == 0.0
    assert m["auc"] == pytest.approx(5 / 9)
    # adding more method-12 fakes must not change method 4's AUC
    m2 = image_metrics(p + [0.0, 0.05], cls=c + [12, 12])
    assert m2["per_method_auc"][4] == pytest.approx(5 / 6)
    # tri of method 12 is ID-remained, 4 is ID-replaced
    assert m["per_meta_auc"]["ID-replaced"] == pytest.approx(5 / 6)

def test_auc_invariant_to_monotone_transforms():
    sim = simulate_scores({1: 1.5, 13: 0.5}, n_real=60, n_per_method=40, seed=3)
    a = image_metrics(sim["p_fake"], cls=sim["cls"])
    z = np.log(sim["p_fake"] / (1 - sim["p_fake"]))          # logit
    b = image_metrics(np.exp(3 * z) + 7, cls=sim["cls"])
    assert a["auc"] == pytest.approx(b["auc"], abs=1e-12)
    for k in a["per_method_auc"]: assert a["per_method_auc"][k] == pytest.approx(b["per_method_auc"][k], abs=1e-12)
    assert a["eer"] == pytest.approx(b["eer"], abs=1e-12)

def test_confusion_matrices_by_hand():
    bin_ = [0, 0, 1, 1]; tri = [0, 0, 1, 2]; cls = [0, 0, 10, 4]
    P3 = np.array([[.9, .05, .05], [.1, .8, .1], [.1, .8, .1], [.1, .8, .1]])   # predictions 0, 1, 1, 1
    P16 = np.eye(16)[[0, 0, 10, 5]]
    m = image_metrics([.1, .6, .7, .8], P3, P16, bin_, tri, cls)
    want3 = np.array([[1, 1, 0], [0, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(m["confusion3"], want3)
    assert m["acc3"] == 0.5
    assert m["confusion16"].shape == (16, 16) and m["confusion16"][4, 5] == 1 and m["confusion16"][0, 0] == 2
    assert m["acc16"] == 0.75

def test_simulated_per_method_auc_tracks_separation():
    from scipy.stats import norm
    d = {1: 2.5, 11: 0.0}
    m = image_metrics(**simulate_scores(d, n_real=800, n_per_method=800, seed=0))
    for k, v in d.items(): assert m["per_method_auc"][k] == pytest.approx(norm.cdf(v / np.sqrt(2)), abs=0.04)

def test_image_metrics_errors():
    with pytest.raises(ShapeError, match="bin has 3 entries but p_fake has 4"):
        image_metrics([.1, .2, .3, .4], bin=[0, 1, 1])
    with pytest.raises(InputError, match="group 'all images' needs reals and fakes; it has only fakes"):
        image_metrics([.1, .2], cls=[4, 4])
    with pytest.raises(InputError, match="only reals"):
        image_metrics([.1, .2], bin=[0, 0])
    with pytest.raises(InputError, match="unknown method id 17"):
        image_metrics([.1, .2], cls=[0, 17])
    with pytest.raises(InputError, match="bin and cls disagree at index 1"):
        image_metrics([.1, .2, .3], bin=[0, 0, 1], cls=[0, 4, 4])
    with pytest.raises(InputError, match="tri and cls disagree at index 1"):
        image_metrics([.1, .2], tri=[0, 1], cls=[0, 4])
    with pytest.raises(InputError, match="NaN"):
        image_metrics([.1, np.nan], bin=[0, 1])
    with pytest.raises(ShapeError, match="p_tri"):
        image_metrics([.1, .9], np.ones((2, 4)), bin=[0, 1], tri=[0, 1])

# ---------------------------------------------------------------- masks
def test_mask_metrics_hand_made():
    gt = np.zeros((3, 4, 4)); gt[0, :2, :2] = 0.5; gt[1, 0, :] = 0.15
    pr = np.zeros((3, 4, 4)); pr[0, :2, :] = 0.9; pr[1, 0, :2] = 0.3; pr[2, 3, 3] = 0.15
    m = mask_metrics(pr, gt, cls=[4, 11, 0])
    # fake 0: IoU 4/8 at both thresholds; fake 1: GT row (4 px at .15) vs 2 predicted px: 2/4 at t=.1; at .2 GT empty, pred 2 px -> 0
    assert m["IoU@0.1"] == pytest.approx((0.5 + 0.5) / 2)
    assert m["IoU@0.2"] == pytest.approx((0.5 + 0.0) / 2)
    assert m["real_clean@0.1"] == 0.0 and m["real_clean@0.2"] == 1.0
    assert m["per_method"][4]["IoU@0.1"] == 0.5 and m["per_method"][11]["IoU@0.2"] == 0.0
    assert m["per_method"][0]["clean@0.2"] == 1.0 and "IoU@0.1" not in m["per_method"][0]
    assert m["l1_real"] == pytest.approx(0.15 / 16)
    assert m["l1"] == pytest.approx(np.abs(pr - gt).mean())
    assert m["n_fake"] == 2 and m["n_real"] == 1
    # fake 1's GT (max 0.15) is empty at 0.2, fake 0's is not: half the fakes; per method 0 and 1
    assert m["gt_empty@0.1"] == 0.0 and m["gt_empty@0.2"] == 0.5
    assert m["per_method"][4]["gt_empty@0.2"] == 0.0 and m["per_method"][11]["gt_empty@0.2"] == 1.0

def test_mask_metrics_empty_gt_explains_iou_one():
    "A subtle edit under the threshold and a silent localizer: IoU 1 by convention, and gt_empty says why."
    gt = np.zeros((2, 4, 4), np.uint8); gt[0] = 20                  # every pixel moved by 20/255 < 0.1
    m = mask_metrics(np.zeros((2, 4, 4)), gt, cls=[15, 0])
    assert m["IoU@0.1"] == 1.0 and m["gt_empty@0.1"] == 1.0 and m["per_method"][15]["gt_empty@0.1"] == 1.0
    m = mask_metrics(np.zeros((2, 4, 4)), gt, cls=[15, 0], gt_threshold=0.05)   # a lower GT threshold sees the edit
    assert m["IoU@0.1"] == 0.0 and m["gt_empty@0.1"] == 0.0

def test_mask_metrics_uint8_and_errors():
    gt = np.zeros((2, 4, 4), np.uint8); gt[0, :2, :2] = 128
    pr = gt.copy()
    m = mask_metrics(pr, gt, cls=[4, 0])
    assert m["IoU@0.1"] == 1.0 and m["l1"] == 0.0 and m["real_clean@0.1"] == 1.0
    with pytest.raises(InputError, match="not logits"):
        mask_metrics(np.full((2, 4, 4), 3.0), gt, cls=[4, 0])
    with pytest.raises(InputError, match="fake images only"):
        mask_metrics(pr, gt, cls=[0, 0])
    with pytest.raises(ShapeError, match="pred_masks has 2 masks but cls has 3"):
        mask_metrics(pr, gt, cls=[4, 0, 0])
    with pytest.raises(ShapeError, match="same shape"):
        mask_metrics(pr, gt[:, :2], cls=[4, 0])
    with pytest.raises(InputError, match="unknown method id 20"):
        mask_metrics(pr, gt, cls=[20, 0])

# ---------------------------------------------------------------- videos
def test_video_metrics_aggregates_by_id_not_position():
    ids = ["x/video.mp4", "y/video.mp4", "x/video.mp4", "z/video.mp4", "y/video.mp4", "z/video.mp4"]
    p = [0.1, 0.9, 0.3, 0.4, 0.5, 0.4]
    c = [0, 4, 0, 0, 4, 0]
    m = video_metrics(p, cls=c, video_ids=ids)
    assert m["n_videos"] == 3 and m["n_frames"] == 6
    assert m["video_scores"]["x/video.mp4"] == pytest.approx(0.2)
    assert m["video_scores"]["y/video.mp4"] == pytest.approx(0.7)
    assert m["auc"] == 1.0
    mx = video_metrics(p, cls=c, video_ids=ids, aggregate="max")
    assert mx["video_scores"]["y/video.mp4"] == 0.9
    # per-video scores (no ids) pass straight through
    assert video_metrics([0.2, 0.8], bin=[0, 1])["auc"] == 1.0

def test_video_metrics_errors():
    with pytest.raises(InputError, match="frames of video 'a' disagree on bin"):
        video_metrics([.1, .2, .3], bin=[0, 1, 1], video_ids=["a", "a", "b"])
    with pytest.raises(ShapeError, match="video_ids has 2 entries"):
        video_metrics([.1, .2, .3], bin=[0, 1, 1], video_ids=["a", "b"])
    with pytest.raises(InputError, match="aggregate"):
        video_metrics([.1, .2], bin=[0, 1], video_ids=["a", "b"], aggregate="mode")

# ---------------------------------------------------------------- temporal
def test_temporal_metrics_hand_made():
    gt = {"v1": [(10, 30)], "v2": [(0, 10), (20, 40)]}
    pred = {"v1": [(10, 30, 0.9)],                     # tIoU 1
            "v2": [(0, 10, 0.8), (25, 40, 0.7)],       # tIoU 1 and 0.75
            "r": [(0, 5, 0.95)]}                       # a real video: false positive ranked first
    m = temporal_metrics(pred, gt)
    # AP@0.5: ranks FP, TP, TP, TP with 3 GT -> precisions at hits 1/2, 2/3, 3/4; interpolated envelope 3/4 for all
    assert m["AP@0.5"] == pytest.approx(0.75)
    assert m["AP@0.75"] == pytest.approx(0.75)
    # AP@0.95: hits at ranks 2, 3 only (2 of 3 GT): envelope 2/3 over recall 0..2/3
    assert m["AP@0.95"] == pytest.approx(2 / 3 * 2 / 3)
    assert m["mAP"] == pytest.approx((0.75 + 0.75 + 4 / 9) / 3)
    assert m["n_videos"] == 2 and m["n_segments"] == 3
    for k in ("AR@1", "AR@5", "AR@10", "AR@100", "AR_AUC"): assert 0 <= m[k] <= 1
    per = temporal_metrics(pred, gt, video_cls={"v1": 4, "v2": 7, "r": 0})["per_method"]
    assert per[4]["AP@0.95"] == 1.0 and per[7]["AP@0.5"] == 1.0 and per[7]["AP@0.95"] == pytest.approx(0.5)

def test_temporal_metrics_flat_rows_and_errors():
    m = temporal_metrics([("v", 0, 10, 0.5)], [("v", 0, 10)])
    assert m["AP@0.5"] == 1.0 and m["AR@100"] == 1.0
    with pytest.raises(InputError, match="no ground-truth forged spans"):
        temporal_metrics({"v": [(0, 3, .5)]}, {})
    with pytest.raises(ShapeError, match="video 'v'"):
        temporal_metrics({"v": [(0, 3)]}, {"v": [(0, 3)]})

# ---------------------------------------------------------------- cross-forgery
def _row(p_real, fakes):
    "Scores of one trained detector: reals then {cls: scores}."
    p = list(p_real); c = [0] * len(p_real)
    for k, v in fakes.items(): p += list(v); c += [k] * len(v)
    return dict(p_fake=np.array(p), bin=(np.array(c) > 0).astype(int), cls=np.array(c))

def test_cross_forgery_matrix_by_hand():
    reals = [0.1, 0.2, 0.3, 0.4]
    scores = {"ID-replaced": _row(reals, {4: [0.9, 0.8], 11: [0.25, 0.05], 7: [0.35]}),
              "ID-remained": _row(reals, {4: [0.15, 0.5], 11: [0.9, 0.95], 7: [0.6]})}
    groups = {"ID-replaced": [4], "ID-remained": [11], "talking heads (unseen)": [7]}
    fm = cross_forgery_matrix(scores, groups)
    assert isinstance(fm, ForgeryMatrix) and fm.rows == list(scores) and fm.cols == list(groups)
    assert fm.auc.shape == (2, 3)
    assert fm.intra == {"ID-replaced": 1.0, "ID-remained": 1.0}
    # trained on replaced, tested on remained: 0.25 beats 2 reals, 0.05 beats none -> 2/8
    assert fm.value("ID-replaced", "ID-remained") == pytest.approx(2 / 8)
    # trained on remained, tested on replaced: 0.15 beats 1, 0.5 beats 4 -> 5/8
    assert fm.value("ID-remained", "ID-replaced") == pytest.approx(5 / 8)
    assert fm.value("ID-replaced", "talking heads (unseen)") == pytest.approx(3 / 4)
    assert fm.value("ID-remained", "talking heads (unseen)") == 1.0
    assert fm.n_fake[0].tolist() == [2, 2, 1] and fm.n_real[0, 0] == 4
    assert fm.value("ID-replaced", "ID-replaced", "acc") == 1.0
    assert ("ID-replaced", "ID-remained") in fm.cross
    md = fm.markdown()
    assert "trained on ID-replaced" in md and "talking heads (unseen)" in md and "0.250" in md
    ax = fm.plot()
    assert len(ax.texts) == 6

def test_cross_forgery_matrix_errors():
    s = {"a": _row([0.1, 0.2], {4: [0.9]})}
    with pytest.raises(InputError, match="test group 'rem' has no fakes in the scores of 'a'"):
        cross_forgery_matrix(s, {"rep": [4], "rem": [11]})
    fm = cross_forgery_matrix(s, {"rep": [4], "rem": [11]}, missing="nan")
    assert np.isnan(fm.value("a", "rem")) and fm.value("a", "rep") == 1.0
    with pytest.raises(InputError, match=r"unknown fake method id\(s\) \[0\]"):
        cross_forgery_matrix(s, {"bad": [0]})
    with pytest.raises(InputError, match="unknown fake method id"):
        cross_forgery_matrix(s, {"bad": [16]})
    with pytest.raises(InputError, match="contain no reals"):
        cross_forgery_matrix({"a": _row([], {4: [0.9]})}, {"rep": [4]})
    with pytest.raises(ShapeError, match="bin has 2 entries"):
        cross_forgery_matrix({"a": dict(p_fake=[.1, .2, .9], bin=[0, 1], cls=[0, 0, 4])}, {"rep": [4]})

# ---------------------------------------------------------------- robustness
def _stand_in_perturb(img, name, severity, seed):
    "noise: adds seeded noise; flip: a no-op for the score below (it is mirror-invariant)."
    if name == "noise":
        r = np.random.default_rng(seed)
        return np.clip(img.astype(float) + r.normal(0, 40 * severity, img.shape), 0, 255).astype(np.uint8)
    if name == "flip": return img[:, ::-1].copy()
    raise KeyError(name)

def _toy_set(n=20):
    rng = np.random.default_rng(1)
    imgs = [np.full((8, 8, 3), 100 + 20 * (i % 2) + rng.integers(0, 5), np.uint8) for i in range(n)]
    return imgs, [i % 2 for i in range(n)]

def test_robustness_curves_stand_in():
    imgs, y = _toy_set()
    score = lambda batch: np.array([b.mean() for b in batch])
    calls = []
    def pf(img, name, s, seed): calls.append((name, s, seed)); return _stand_in_perturb(img, name, s, seed)
    rc = robustness_curves(score, imgs, y, ["noise", "flip"], severities=(0, 1, 3), seed=5, perturb_fn=pf)
    assert isinstance(rc, RobustnessCurves) and rc.severities == [0, 1, 3]
    assert rc["flip"] == [1.0, 1.0, 1.0]          # flip does not change a mean
    assert rc["noise"][0] == 1.0 and rc["noise"][2] < 1.0
    assert not any(s == 0 for _, s, _ in calls)    # severity 0 is the clean image, never perturbed
    assert {seed for n, s, seed in calls if n == "noise" and s == 1} == set(range(5, 25))
    again = robustness_curves(score, imgs, y, ["noise"], severities=(0, 1, 3), seed=5, perturb_fn=_stand_in_perturb)
    assert again["noise"] == rc["noise"]           # seeded -> reproducible
    assert "s3" in rc.markdown()
    ax = rc.plot(); assert len(ax.lines) == 3      # two curves + the chance line

def test_robustness_curves_errors():
    imgs, y = _toy_set(4)
    score = lambda batch: np.array([b.mean() for b in batch])
    with pytest.raises(InputError, match="'robustness test set' needs reals and fakes"):
        robustness_curves(score, imgs, [1, 1, 1, 1], ["noise"], perturb_fn=_stand_in_perturb)
    with pytest.raises(ShapeError, match="labels has 3 entries"):
        robustness_curves(score, imgs, [0, 1, 0], ["noise"], perturb_fn=_stand_in_perturb)
    with pytest.raises(ShapeError, match="one score per image"):
        robustness_curves(lambda b: np.zeros(1), imgs, y, ["noise"], perturb_fn=_stand_in_perturb)

# ---------------------------------------------------------------- stand-in models and datasets
class RedDetector(nn.Module):
    "P(fake) = mean red; p_tri / p_cls put all mass on the true-looking class for red images."
    def __init__(self): super().__init__(); self.w = nn.Parameter(torch.ones(1)); self.seen_training = None
    def predict(self, x):
        self.seen_training = self.training
        p = (x[:, 0].mean((1, 2)) * self.w).clamp(0, 1)
        fake = (p > 0.5).long()
        return dict(p_fake=p, p_tri=F.one_hot(fake * 2, 3).float(), p_cls=F.one_hot(fake * 4, 16).float())

class ImageSet(torch.utils.data.Dataset):
    "Items as ForgeryImageDataset: reals grey, fakes (method 4 / 11) redder, with a 2x2 mask top-left."
    def __init__(self, cls=(0, 4, 11, 0, 4, 11, 0)): self.cls = list(cls)
    def __len__(self): return len(self.cls)
    def __getitem__(self, i):
        c = self.cls[i]
        img = torch.full((3, 8, 8), 0.3); img[0] += 0.4 * (c > 0) + 0.01 * i
        m = torch.zeros(1, 8, 8)
        if c: m[0, :2, :2] = 0.6
        tri = method_table()[c][1]
        return dict(image=img, mask=m, bin=torch.tensor(int(c > 0)), tri=torch.tensor(tri), cls=torch.tensor(c), path=f"{c}/img{i}.jpg")

class Localizer(nn.Module):
    def __init__(self): super().__init__(); self.w = nn.Parameter(torch.ones(1))
    def predict_mask(self, x):
        m = torch.zeros(x.shape[0], 1, *x.shape[2:])
        m[:, :, :2, :2] = (x[:, :1, :2, :2] > 0.5).float() * self.w
        return m

def test_score_and_eval_images_wrappers():
    det = RedDetector(); det.train()
    ds = ImageSet()
    s = score_images(det, ds, batch_size=3, progress=False)
    assert s["p_fake"].shape == (7,) and s["p_tri"].shape == (7, 3) and s["p_cls"].shape == (7, 16)
    assert s["paths"][1] == "4/img1.jpg" and s["cls"].tolist() == list(ds.cls)
    assert det.seen_training is False and det.training          # eval inside, mode restored
    m = eval_images(det, ds, batch_size=4, progress=False)
    assert m["auc"] == 1.0 and m["acc"] == 1.0 and m["per_method_auc"] == {4: 1.0, 11: 1.0}
    assert m["acc3"] == pytest.approx(5 / 7)                    # method 11 is ID-remained, predicted ID-replaced
    assert m["confusion16"][11, 4] == 2

def test_wrappers_reject_bad_datasets():
    class NoCls(torch.utils.data.Dataset):
        def __len__(self): return 2
        def __getitem__(self, i): return dict(image=torch.zeros(3, 8, 8), bin=torch.tensor(0))
    with pytest.raises(InputError, match=r"dataset items lack \['tri', 'cls'\]"):
        score_images(RedDetector(), NoCls(), progress=False)
    with pytest.raises(InputError, match="empty"):
        score_images(RedDetector(), ImageSet(()), progress=False)
    class Bad(nn.Module):
        def predict(self, x): return dict(score=x.mean())
    with pytest.raises(InputError, match="returned no 'p_fake'"):
        score_images(Bad(), ImageSet(), progress=False)

def test_score_and_eval_masks_wrappers():
    ds = ImageSet()
    s = score_masks(Localizer(), ds, batch_size=3, progress=False)
    assert s["pred"].shape == (7, 8, 8) and s["gt"].shape == (7, 8, 8)
    m = eval_masks(Localizer(), ds, batch_size=3, progress=False)
    assert m["IoU@0.1"] == 1.0 and m["IoU@0.2"] == 1.0 and m["real_clean@0.1"] == 1.0
    assert m["l1_fake"] == pytest.approx(0.4 * 4 / 64) and m["per_method"][11]["n"] == 2

def test_detector_score_fn_resizes_uint8():
    det = RedDetector()
    fn = detector_score_fn(det, size=8, batch_size=2)
    imgs = [np.full((20, 20, 3), v, np.uint8) for v in (0, 128, 255)]
    np.testing.assert_allclose(fn(imgs), [0, 128 / 255, 1], atol=1e-6)

class VideoModel(nn.Module):
    "Forward on (B, T, 3, S, S) -> logits: bin from mean red, frame = (red - 0.5) * 20; action/start/end like the TSM head."
    def __init__(self, temporal=False): super().__init__(); self.w = nn.Parameter(torch.ones(1)); self.temporal = temporal
    def forward(self, x):
        r = x[:, :, 0].mean((2, 3)) * self.w                     # (B, T)
        frame = (r - 0.5) * 20
        clip = r.mean(1)
        out = dict(bin=torch.stack([-clip, clip], 1) * 10 - torch.tensor([-5., 5.]), frame=frame,
                   tri=torch.zeros(len(x), 3), cls=torch.zeros(len(x), 16))
        if self.temporal: out.update(action=frame, start=torch.zeros_like(frame), end=torch.zeros_like(frame))
        return out

class VideoSet(torch.utils.data.Dataset):
    "Items as ForgeryVideoDataset: 12 frames; fake videos are red inside their span."
    spans = [None, (3, 9), None, (0, 4), (6, 12)]
    def __len__(self): return len(self.spans)
    def __getitem__(self, i):
        sp, T = self.spans[i], 12
        y = torch.zeros(T, dtype=torch.long)
        if sp: y[sp[0]:sp[1]] = 1
        fr = torch.full((T, 3, 4, 4), 0.2); fr[:, 0] += 0.6 * y[:, None, None].float()
        c = 4 if sp else 0
        return dict(frames=fr, frame_labels=y, bin=torch.tensor(int(c > 0)), tri=torch.tensor(2 if c else 0),
                    cls=torch.tensor(c), path=f"v{i}.mp4")

def test_eval_videos_wrapper():
    m = eval_videos(VideoModel(), VideoSet(), batch_size=2, progress=False)
    assert m["n_videos"] == 5 and m["auc"] == 1.0 and m["frame_auc"] == 1.0
    assert set(m["video_scores"]) == {f"v{i}.mp4" for i in range(5)}
    assert m["confusion3"].shape == (3, 3)

def test_eval_temporal_wrapper():
    def to_segments(a):                                         # stand-in: runs of a > 0.5, score = mean
        d = np.diff(np.r_[0, (a > 0.5).astype(int), 0])
        return [(s, e, float(a[s:e].mean())) for s, e in zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0])]
    m = eval_temporal(VideoModel(), VideoSet(), to_segments=to_segments, progress=False)
    assert m["AP@0.5"] == 1.0 and m["AP@0.95"] == 1.0 and m["AR@1"] == 1.0
    assert m["n_videos"] == 3 and m["per_method"][4]["mAP"] == 1.0
    m2 = eval_temporal(VideoModel(temporal=True), VideoSet(), progress=False)   # default: video.frames_to_segments
    assert m2["AP@0.5"] == 1.0

# ---------------------------------------------------------------- plots
def test_plots_smoke():
    sim = simulate_scores({1: 2.0, 11: 1.0}, n_real=30, n_per_method=20, seed=0)
    ax = plot_method_rocs(sim["p_fake"], sim["bin"], sim["cls"])
    assert len(ax.get_legend().get_texts()) >= 3
    m = image_metrics(**sim)
    ax = plot_confusion(m["confusion3"], TRI_NAMES)
    assert ax.get_xlabel() == "predicted"
    with pytest.raises(ShapeError, match="square"):
        plot_confusion(np.zeros((2, 3)))
    with pytest.raises(InputError, match="unknown fake method id"):
        simulate_scores({0: 1.0})

# ---------------------------------------------------------------- the wing's own models (skipped where not importable)
def test_wrappers_on_the_wings_models():
    det_mod = pytest.importorskip("synthlab.forensics.detectors")
    loc_mod = pytest.importorskip("synthlab.forensics.localize")
    vid_mod = pytest.importorskip("synthlab.forensics.video")
    torch.manual_seed(0)
    class Ds32(ImageSet):
        def __getitem__(self, i):
            d = super().__getitem__(i)
            d["image"] = F.interpolate(d["image"][None], size=32)[0]; d["mask"] = F.interpolate(d["mask"][None], size=32)[0]
            return d
    m = eval_images(det_mod.build_detector(det_mod.DetectorConfig(arch="small", size=32)), Ds32(), progress=False)
    assert 0 <= m["auc"] <= 1 and m["confusion16"].shape == (16, 16) and set(m["per_method_auc"]) == {4, 11}
    mm = eval_masks(loc_mod.Localizer(), Ds32(), progress=False)
    assert 0 <= mm["IoU@0.1"] <= 1 and mm["n_fake"] == 4
    class V32(VideoSet):
        def __getitem__(self, i):
            d = super().__getitem__(i); d["frames"] = F.interpolate(d["frames"], size=32); return d
    vd = vid_mod.VideoDetector(vid_mod.VideoConfig.tiny())
    vm = eval_videos(vd, V32(), batch_size=2, progress=False)
    assert vm["n_videos"] == 5 and 0 <= vm["frame_auc"] <= 1
    tm = eval_temporal(vd, V32(), progress=False)
    assert tm["n_videos"] == 3 and 0 <= tm["mAP"] <= 1
