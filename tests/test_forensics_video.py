"Tests for synthlab.forensics.video: TSM shift, video detector, temporal localizer, frames->segments, losses, predict_video."
import math
import numpy as np
import pytest
import torch
import torch.nn as nn

from synthlab.core import ShapeError, InputError
from synthlab.metrics import ap_at_tiou, ar_at_an
from synthlab.forensics.video import (temporal_shift, VideoConfig, VideoDetector, TemporalConfig, TemporalLocalizer,
                                      frames_to_segments, runs_above, spans_to_frame_labels, frame_labels_to_spans,
                                      boundary_targets, video_loss, temporal_loss, predict_video, frames_to_clip,
                                      toy_videos, check_clip, plot_video_scores, build_video_detector)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return VideoDetector(VideoConfig.tiny()).eval()


def _ramp(b=2, t=5, c=16):
    "x[b, t, c, h, w] = 1000*b + 100*t + c (distinct per frame and channel)."
    x = 1000 * torch.arange(b)[:, None, None] + 100 * torch.arange(t)[None, :, None] + torch.arange(c)[None, None]
    return x.float()[..., None, None].expand(b, t, c, 2, 3).contiguous()


# ---------------------------------------------------------------- temporal shift
def test_temporal_shift_known_values():
    x = _ramp()
    y = temporal_shift(x, shift_div=8)                       # fold = 2
    assert y.shape == x.shape
    for b in range(2):
        for t in range(5):
            for c in range(16):
                if c < 2: want = 1000 * b + 100 * (t + 1) + c if t < 4 else 0.      # from the next frame
                elif c < 4: want = 1000 * b + 100 * (t - 1) + c if t > 0 else 0.    # from the previous frame
                else: want = 1000 * b + 100 * t + c
                assert torch.all(y[b, t, c] == want), (b, t, c)
    # shift_div=4 moves 4 + 4 channels
    y4 = temporal_shift(x, shift_div=4)
    assert torch.all(y4[:, -1, :4] == 0) and torch.all(y4[:, 0, 4:8] == 0) and torch.equal(y4[:, :, 8:], x[:, :, 8:])


def test_temporal_shift_time_reversal_and_inverse():
    x = torch.randn(2, 6, 16, 3, 3)
    y = temporal_shift(x)
    # reversing time swaps the roles of the forward and backward folds
    r = temporal_shift(x.flip(1)).flip(1)
    assert torch.equal(r[:, 1:, :2], x[:, :-1, :2]) and torch.all(r[:, 0, :2] == 0)
    assert torch.equal(r[:, :-1, 2:4], x[:, 1:, 2:4]) and torch.all(r[:, -1, 2:4] == 0)
    # the opposite shift undoes it except for the edge frame that fell off (zero padded, not wrapped)
    back = temporal_shift(y.flip(1)).flip(1)
    assert torch.equal(back[:, 1:, :2], x[:, 1:, :2]) and torch.all(back[:, 0, :2] == 0)        # x[0] fell off
    assert torch.equal(back[:, :-1, 2:4], x[:, :-1, 2:4]) and torch.all(back[:, -1, 2:4] == 0)  # x[T-1] fell off
    assert torch.equal(back[:, :, 4:], x[:, :, 4:])
    # T=1: both shifted folds become zero
    one = temporal_shift(torch.ones(1, 1, 8))
    assert one[0, 0].tolist() == [0., 0.] + [1.] * 6


def test_temporal_shift_small_channels_and_errors():
    x = torch.randn(1, 3, 7)                                 # 7 // 8 = 0 channels to shift
    assert torch.equal(temporal_shift(x), x)
    with pytest.raises(ShapeError, match="B, T, C"): temporal_shift(torch.zeros(3, 4))
    with pytest.raises(InputError, match="shift_div"): temporal_shift(torch.zeros(1, 2, 8), shift_div=1)


def test_temporal_shift_gradient():
    x = torch.randn(1, 4, 16, requires_grad=True)
    temporal_shift(x)[:, 1].sum().backward()                 # frame 1 reads frame 2 (fold 0), frame 0 (fold 1), itself
    g = x.grad[0]
    assert torch.all(g[2, :2] == 1) and torch.all(g[0, 2:4] == 1) and torch.all(g[1, 4:] == 1)
    assert g.sum().item() == 16


# ---------------------------------------------------------------- frames_to_segments
def test_runs_above():
    a = np.array([0.6, 0.6, 0.1, 0.7, 0.2, 0.9, 0.9, 0.9])
    assert runs_above(a, 0.5) == [(0, 2), (3, 4), (5, 8)]
    assert runs_above(a, 0.95) == []
    assert runs_above(np.ones(3), 0.5) == [(0, 3)]


def test_frames_to_segments_known_values_and_nms():
    curve = np.array([.1, .1, .4, .6, .6, .9, .9, .9, .6, .6, .6, .6, .1, .1])
    # thresholds .3 -> (2,12) mean .67; .5 -> (3,12) mean .7; .8 -> (5,8) mean .9
    all3 = frames_to_segments(curve, thresholds=(.3, .5, .8), nms_tiou=0.95)
    assert [(s, e) for s, e, _ in all3] == [(5, 8), (3, 12), (2, 12)]
    np.testing.assert_allclose([sc for *_, sc in all3], [0.9, 0.7, 0.67], atol=1e-9)
    # NMS at 0.7: (2,12) overlaps (3,12) with tIoU 0.9 and goes; (3,12) vs (5,8) is 1/3 and stays
    segs = frames_to_segments(curve, thresholds=(.3, .5, .8), nms_tiou=0.7)
    assert [(s, e) for s, e, _ in segs] == [(5, 8), (3, 12)]
    assert frames_to_segments(curve, thresholds=(.3, .5, .8), top_k=1)[0][:2] == (5, 8)
    # the same run found at several thresholds is one candidate (duplicates removed)
    flat = np.array([0, 0, .95, .95, .95, 0, 0.])
    out = frames_to_segments(flat)                          # six default thresholds all give (2, 5)
    assert out == [(2, 5, pytest.approx(0.95))]
    # min_len drops short runs
    assert frames_to_segments(np.array([0, .9, 0, .9, .9, 0.]), min_len=2) == [(3, 5, pytest.approx(0.9))]
    assert len(frames_to_segments(np.array([0, .9, 0, .9, .9, 0.]), min_len=1)) == 2
    # nothing above threshold: no segments
    assert frames_to_segments(np.full(5, 0.1)) == []


def test_frames_to_segments_boundary_scores():
    a = np.array([.1, .9, .9, .9, .1, .8, .8, .1])
    st, en = np.full(8, .5), np.full(8, .5)
    st[5], en[6] = 1., 1.
    segs = frames_to_segments(a, st, en, thresholds=(.5,))
    # (1,4): .9 * .5 * .5 = .225; (5,7): .8 * 1 * 1 = .8 -> the boundary-confirmed span ranks first
    assert [(s, e) for s, e, _ in segs] == [(5, 7), (1, 4)]
    np.testing.assert_allclose([sc for *_, sc in segs], [0.8, 0.225])
    # tensors and (1, T) rows are accepted
    assert frames_to_segments(torch.tensor(a)[None], thresholds=(.5,)) == frames_to_segments(a, thresholds=(.5,))


def test_frames_to_segments_errors():
    a = np.array([.1, .9, .9])
    with pytest.raises(InputError, match="no frames"): frames_to_segments([])
    with pytest.raises(ShapeError, match="1D"): frames_to_segments(np.zeros((2, 3)))
    with pytest.raises(InputError, match=r"\[0, 1\]"): frames_to_segments(np.array([0.5, 2.0]))
    with pytest.raises(InputError, match=r"\[0, 1\]"): frames_to_segments(np.array([0.5, np.nan]))
    with pytest.raises(ShapeError, match="has 2 frames"): frames_to_segments(a, np.ones(2), np.ones(3))
    with pytest.raises(InputError, match="both start and end"): frames_to_segments(a, np.ones(3))
    with pytest.raises(InputError, match="thresholds"): frames_to_segments(a, thresholds=())
    with pytest.raises(InputError, match="min_len"): frames_to_segments(a, min_len=0)
    with pytest.raises(InputError, match="nms_tiou"): frames_to_segments(a, nms_tiou=0)
    with pytest.raises(InputError, match="top_k"): frames_to_segments(a, top_k=0)


def test_segments_feed_activitynet_metrics():
    "frames_to_segments rows + a video id are what synthlab.metrics expects; end-exclusive spans as VideoRecord.fake_spans."
    gt_spans = {"v0": [(3, 8)], "v1": [(0, 4), (10, 14)]}
    preds = []
    for vid, spans in gt_spans.items():
        curve = spans_to_frame_labels(spans, 16).astype(float) * 0.9 + 0.05
        preds += [(vid, s, e, sc) for s, e, sc in frames_to_segments(curve)]
    gts = [(vid, s, e) for vid, spans in gt_spans.items() for s, e in spans]
    assert sorted((v, s, e) for v, s, e, _ in preds) == sorted(gts)
    assert ap_at_tiou(preds, gts)["mAP"] == 1.0
    assert ar_at_an(preds, gts, an=(1, 5))["AR@5"] == 1.0


# ---------------------------------------------------------------- labels and targets
def test_spans_and_frame_labels():
    lab = spans_to_frame_labels([(2, 5), (8, 20)], 10)
    assert lab.tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 1, 1]
    assert frame_labels_to_spans(lab) == [(2, 5), (8, 10)]
    assert frame_labels_to_spans(torch.tensor([1, 1, 0, 1])) == [(0, 2), (3, 4)]
    assert spans_to_frame_labels([], 3).tolist() == [0, 0, 0]
    with pytest.raises(InputError, match="ends before"): spans_to_frame_labels([(5, 2)], 10)
    with pytest.raises(ShapeError): spans_to_frame_labels([(1, 2, 3)], 10)
    with pytest.raises(ShapeError): frame_labels_to_spans(np.zeros((2, 3)))


def test_boundary_targets_known_values():
    lab = torch.tensor([[0, 0, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1], [0] * 8])
    s, e = boundary_targets(lab, sigma=1.0)
    g1, g2 = math.exp(-0.5), math.exp(-2.0)
    np.testing.assert_allclose(s[0].numpy(), [g2, g1, 1, g1, g2, math.exp(-4.5), math.exp(-8), math.exp(-12.5)], rtol=1e-6)
    assert e[0].argmax().item() == 4 and e[0, 4].item() == 1.0           # the last fake frame
    assert s[1, 0].item() == 1.0 and e[1, 7].item() == 1.0               # a span touching both ends of the video
    assert torch.all(s[2] == 0) and torch.all(e[2] == 0)
    with pytest.raises(ShapeError): boundary_targets(torch.zeros(8))
    with pytest.raises(InputError, match="sigma"): boundary_targets(torch.zeros(1, 8), sigma=0)


def test_bsn_balanced_weighting_known_value():
    "BSN weights: positives 0.5*n/n_pos, negatives 0.5*n/(n-n_pos); with logits 0 the loss is log 2 whatever the balance."
    out = {k: torch.zeros(1, 10) for k in ("action", "start", "end")}
    lab = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0, 1, 0]])
    loss, logs = temporal_loss(out, {"frame_labels": lab})
    assert logs["loss_action"] == pytest.approx(math.log(2), rel=1e-6)
    # with a confident-wrong logit on the single positive, its weight is 0.5*10/1 = 5 -> 5*BCE/10
    out["action"] = torch.zeros(1, 10); out["action"][0, 8] = -4.0
    _, logs2 = temporal_loss(out, {"frame_labels": lab})
    bce_pos = math.log1p(math.exp(4.0))
    want = (5 * bce_pos + 9 * (0.5 * 10 / 9) * math.log(2)) / 10
    assert logs2["loss_action"] == pytest.approx(want, rel=1e-6)


# ---------------------------------------------------------------- the detector
@pytest.mark.parametrize("T", [1, 3, 8, 11])
def test_detector_shapes(tiny, T):
    out = tiny(torch.rand(2, T, 3, 32, 32))
    want = dict(frame=(2, T), feat=(2, T, 32), bin=(2, 2), tri=(2, 3), cls=(2, 16), action=(2, T), start=(2, T), end=(2, T))
    assert {k: tuple(v.shape) for k, v in out.items()} == want


def test_detector_no_temporal_head_and_sizes():
    m = VideoDetector(VideoConfig.tiny(temporal=False, n_cls=5)).eval()
    out = m(torch.rand(1, 4, 3, 48, 40))
    assert set(out) == {"frame", "feat", "bin", "tri", "cls"} and out["cls"].shape == (1, 5)
    p = m.predict(torch.rand(3, 4, 3, 32, 32))
    assert p["p_fake"].shape == (3,) and p["p_frame"].shape == (3, 4)
    assert torch.allclose(p["p_tri"].sum(-1), torch.ones(3)) and torch.all((p["p_frame"] > 0) & (p["p_frame"] < 1))
    head = m.classifier("bin")
    assert isinstance(head(torch.rand(1, 2, 3, 32, 32)), torch.Tensor)
    with pytest.raises(InputError, match="unknown head"): m.classifier("mask")


def test_detector_receptive_field_is_one_frame_per_shift_block():
    torch.manual_seed(0)
    m = VideoDetector(VideoConfig.tiny(temporal=False, blocks=(1, 2, 1))).eval()   # 4 shifted blocks
    x = torch.rand(1, 10, 3, 32, 32, requires_grad=True)
    m(x)["frame"][0, 5].backward()
    reach = (x.grad.abs().sum(dim=(0, 2, 3, 4)) > 0).tolist()
    assert reach == [i >= 1 and i <= 9 for i in range(10)]                   # frames 1..9 = 5 +- 4


def test_detector_input_errors(tiny):
    with pytest.raises(ShapeError, match=r"x\[None\]"): tiny(torch.rand(4, 3, 32, 32))
    with pytest.raises(ShapeError, match="3 colour channels"): tiny(torch.rand(1, 4, 4, 32, 32))
    with pytest.raises(ShapeError, match="at least one frame"): tiny(torch.rand(1, 0, 3, 32, 32))
    with pytest.raises(ShapeError, match="16x16"): tiny(torch.rand(1, 2, 3, 8, 8))
    with pytest.raises(InputError, match="float"): tiny(torch.zeros(1, 2, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(InputError, match="torch tensor"): check_clip(np.zeros((1, 2, 3, 32, 32)))
    with pytest.raises(InputError, match="equal length"): VideoConfig(widths=(8, 16), blocks=(1,))
    with pytest.raises(InputError, match="temporal_kernel"): VideoConfig(temporal_kernel=2)


def test_temporal_localizer_shapes_and_errors():
    tl = TemporalLocalizer(TemporalConfig(in_dim=6, hidden=5, n_layers=3))
    for T in (1, 7):
        o = tl(torch.rand(2, T, 6))
        assert all(o[k].shape == (2, T) for k in ("action", "start", "end"))
    with pytest.raises(ShapeError, match="C=6"): tl(torch.rand(2, 6, 7))
    with pytest.raises(ShapeError, match=r"\(B, T, C\)"): tl(torch.rand(6, 7))
    with pytest.raises(InputError, match="odd"): TemporalConfig(kernel=4)


def test_losses_and_label_mismatch(tiny):
    out = tiny(torch.rand(2, 5, 3, 32, 32))
    batch = dict(bin=torch.tensor([0, 1]), tri=torch.tensor([0, 2]), cls=torch.tensor([0, 4]),
                 frame_labels=torch.tensor([[0, 0, 0, 0, 0], [0, 1, 1, 0, 0]]))
    loss, logs = video_loss(out, batch)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert {"loss_bin", "loss_tri", "loss_cls", "loss_frame", "loss_action", "loss_start", "loss_end", "acc"} <= set(logs)
    l2, logs2 = video_loss(out, {"bin": batch["bin"]})                   # clip label only
    assert set(logs2) == {"loss_bin", "acc"} and l2.item() == pytest.approx(logs2["loss_bin"])
    with pytest.raises(ShapeError, match="T of the labels"): video_loss(out, {**batch, "frame_labels": torch.zeros(2, 7)})
    with pytest.raises(ShapeError, match="T of the labels"): temporal_loss(out, {"frame_labels": torch.zeros(2, 4)})
    with pytest.raises(ShapeError, match="3 labels"): video_loss(out, {"bin": torch.tensor([0, 1, 1])})
    with pytest.raises(InputError, match="temporal head"): temporal_loss({"frame": out["frame"]}, batch)
    with pytest.raises(InputError, match="frame_labels"): temporal_loss(out, {"bin": batch["bin"]})


def test_gradient_reaches_every_parameter():
    torch.manual_seed(0)
    m = VideoDetector(VideoConfig.tiny())
    d = toy_videos(4, n_frames=6, size=32, p_fake=0.5, seed=3)
    batch = {k: v for k, v in d.items() if k != "spans"}
    loss, _ = video_loss(m(batch["frames"]), batch)
    loss.backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all() or p.grad.abs().sum() == 0]
    assert not missing, missing


def test_captum_deeplift_runs():
    "One ReLU module per use, inplace=False: DeepLift (which rejects reused modules) runs on the clip classifier."
    from captum.attr import DeepLift
    torch.manual_seed(0)
    m = VideoDetector(VideoConfig.tiny(temporal=False)).eval()
    x = torch.rand(1, 3, 3, 32, 32)
    attr = DeepLift(m.classifier("bin")).attribute(x, target=1)
    assert attr.shape == x.shape and torch.isfinite(attr).all()


# ---------------------------------------------------------------- whole videos
class _MeanStub(nn.Module):
    "A 'detector' whose frame probability is the frame's mean pixel value (a known answer for predict_video)."
    def __init__(self):
        super().__init__()
        self.cfg, self.temporal = VideoConfig.tiny(n_frames=4, temporal=False), None
        self.w = nn.Parameter(torch.zeros(()))
        self.calls = []
    def forward(self, x):
        self.calls.append(tuple(x.shape))
        p = x.mean(dim=(2, 3, 4)).clamp(1e-6, 1 - 1e-6)
        b = x.shape[0]
        return dict(frame=torch.logit(p), bin=torch.log(torch.stack([1 - p.mean(1), p.mean(1)], 1)),
                    tri=torch.zeros(b, 3), cls=torch.zeros(b, 16))


def test_predict_video_windows_and_known_scores():
    levels = np.array([.1, .1, .1, .8, .8, .8, .8, .1, .1, .1])
    frames = np.stack([np.full((20, 24, 3), round(v * 255), np.uint8) for v in levels])
    stub = _MeanStub()
    r = predict_video(stub, frames, batch_size=2)
    assert r["windows"] == [(0, 4), (2, 6), (4, 8), (6, 10)]
    assert stub.calls == [(2, 4, 3, 32, 32), (2, 4, 3, 32, 32)]                  # resized to cfg.size, batched by 2
    np.testing.assert_allclose(r["frame_scores"], np.round(levels * 255) / 255, atol=1e-5)   # window averaging is exact
    assert [(s, e) for s, e, _ in r["segments"]] == [(3, 7)]
    assert r["p_fake"] == pytest.approx(np.mean([np.mean(np.round(levels[s:e] * 255) / 255) for s, e in r["windows"]]), abs=1e-5)
    # shorter than one window; float (T, 3, H, W) input in [0, 1]
    r2 = predict_video(stub, torch.full((3, 3, 32, 32), 0.5))
    assert r2["windows"] == [(0, 3)] and np.allclose(r2["frame_scores"], 0.5)
    assert r2["p_tri"].shape == (3,) and r2["p_cls"].shape == (16,)


def test_predict_video_real_model_and_errors(tiny):
    vid = (np.random.default_rng(0).random((13, 40, 48, 3)) * 255).astype(np.uint8)
    tiny.train()
    r = predict_video(tiny, vid)
    assert tiny.training                                                  # mode restored
    tiny.eval()
    assert r["frame_scores"].shape == (13,) and r["actionness"].shape == (13,) and 0 <= r["p_fake"] <= 1
    assert all(0 <= s < e <= 13 for s, e, _ in r["segments"])
    with pytest.raises(InputError, match="no frames"): predict_video(tiny, vid[:0])
    with pytest.raises(InputError, match="no frames"): predict_video(tiny, [])
    with pytest.raises(ShapeError, match=r"\(T, H, W, 3\)"): predict_video(tiny, vid[..., 0])
    with pytest.raises(ShapeError, match=r"\(T, H, W, 3\)"): predict_video(tiny, vid[0])
    with pytest.raises(ShapeError, match=r"\(T, 3, H, W\)"): predict_video(tiny, torch.rand(4, 5, 32, 32))
    with pytest.raises(InputError, match="NumPy array or tensor"): frames_to_clip("video.mp4")
    assert frames_to_clip(torch.zeros(2, 20, 20, 3, dtype=torch.uint8), 32).shape == (2, 3, 32, 32)


def test_toy_videos_and_plot():
    d = toy_videos(6, n_frames=10, size=32, p_fake=0.5, seed=4)
    assert d["frames"].shape == (6, 10, 3, 32, 32) and 0 <= d["frames"].min() and d["frames"].max() <= 1
    for i in range(6):
        assert frame_labels_to_spans(d["frame_labels"][i]) == d["spans"][i]
        assert d["bin"][i].item() == int(bool(d["spans"][i])) and d["cls"][i].item() in (0, 4)
    assert torch.equal(toy_videos(2, seed=1)["frames"], toy_videos(2, seed=1)["frames"])
    with pytest.raises(InputError): toy_videos(0)
    fig = plot_video_scores(np.linspace(0, 1, 10), [(2, 5, .9)], [(2, 6)], title="t")
    assert len(fig.axes) == 1
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_hub_builder():
    from synthlab.hub import resolve_builder
    m = resolve_builder("video-detector")(size=32, widths=(8, 8), blocks=(1, 1), temporal=False)
    assert isinstance(m, VideoDetector) and m.cfg.widths == (8, 8)
    assert build_video_detector is resolve_builder("video-detector")


# ---------------------------------------------------------------- overfitting
def test_temporal_localizer_overfits_a_span_to_ap_1():
    "The TEM head learns forged spans from features; the segments then score AP@0.5 = 1 with synthlab.metrics."
    torch.manual_seed(0); g = torch.Generator().manual_seed(0)
    T, C = 24, 4
    spans = [[(5, 12)], [(0, 6), (15, 21)], [(10, 24)], []]
    labels = torch.stack([torch.as_tensor(spans_to_frame_labels(s, T)) for s in spans])
    feat = 0.3 * torch.randn(len(spans), T, C, generator=g)
    feat[..., 0] += labels.float()                                       # one channel carries the forgery trace
    tl = TemporalLocalizer(TemporalConfig(in_dim=C, hidden=16, n_layers=2, kernel=3))
    opt = torch.optim.Adam(tl.parameters(), lr=1e-2)
    for _ in range(150):
        loss, _ = temporal_loss(tl(feat), {"frame_labels": labels})
        opt.zero_grad(); loss.backward(); opt.step()
    with torch.no_grad(): o = {k: v.sigmoid() for k, v in tl(feat).items()}
    preds, gts = [], []
    for i, sp in enumerate(spans):
        preds += [(i, s, e, sc) for s, e, sc in frames_to_segments(o["action"][i], o["start"][i], o["end"][i])]
        gts += [(i, s, e) for s, e in sp]
    ap = ap_at_tiou(preds, gts, tiou_thresholds=(0.5,))
    assert ap["AP@0.5"] == 1.0, (ap, preds)


def test_video_detector_learns_toy_frames():
    "A few steps of video_loss on toy clips separate forged frames from clean ones (per-frame AUC-like check)."
    torch.manual_seed(0)
    m = VideoDetector(VideoConfig.tiny(n_frames=8, temporal=False))
    d = toy_videos(16, n_frames=8, size=32, p_fake=0.75, seed=0)
    batch = {k: v for k, v in d.items() if k != "spans"}
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    for _ in range(30):
        loss, logs = video_loss(m(batch["frames"]), batch, w_tri=0, w_cls=0)
        opt.zero_grad(); loss.backward(); opt.step()
    p = m.predict(batch["frames"])["p_frame"]
    y = batch["frame_labels"].bool()
    assert p[y].min() > p[~y].max() or (p[y].mean() - p[~y].mean()) > 0.5, (p[y].mean(), p[~y].mean())
