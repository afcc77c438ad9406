"Tests of synthlab.talk.evaluate: landmark regressor, MFCC + sync protocol, probe matrix, clip evaluation (shipped presets, no retraining)."
import numpy as np
import pytest
import torch
from synthlab import hub
from synthlab.core import InputError, ShapeError
from synthlab.talk.data import TEST_IDS, TRAIN_IDS, make_clip, render_face
from synthlab.talk import evaluate as E

torch.set_num_threads(1)

@pytest.fixture(scope="module")
def lm_net(): return hub.load("talk-landmarks")

@pytest.fixture(scope="module")
def sync_net(): return hub.load("talk-sync")

@pytest.fixture(scope="module")
def clip100(): return E.heldout_clips(1, 100, start=30)[0]

@pytest.fixture(scope="module")
def short_clips(): return E.heldout_clips(2, 40, start=40)

# ---------------------------------------------------------------- landmarks
def test_landmark_presets_are_small_and_described():
    for name in ("talk-landmarks", "talk-sync"):
        c = hub.card(name)
        assert c.path.stat().st_size < 2_000_000, f"{name} weights are {c.path.stat().st_size} bytes"
        assert c.data and c.command and c.metrics
    assert hub.card("talk-landmarks").metrics["heldout_px_mouth"] < 1.0

def test_landmark_heldout_error(lm_net):
    ds = E.LandmarkRenders(64, "test", seed=5, augment=False, cache=False)
    imgs, lms = zip(*(ds.render(i) for i in range(64)))
    assert all(ds.params(i)["identity"] in TEST_IDS for i in range(64))
    pred = lm_net.predict(np.stack(imgs))
    err = E.landmark_errors(pred, np.stack(lms))
    assert err["mouth"] < 1.0, err          # sub-pixel mouth at 128 px on identities never seen in training
    assert err["all"] < 2.0, err

def test_landmark_predict_other_sizes(lm_net):
    img, lm = render_face(TEST_IDS[11], (8.0, -4.0, 2.0), (0.7, 1.0))
    p128 = lm_net.predict(img)
    big = np.asarray(__import__("cv2").resize(img, (256, 256), interpolation=__import__("cv2").INTER_CUBIC))
    p256 = lm_net.predict(big)
    # the same face at twice the size: the points scale by 2 about the pixel-centre convention
    np.testing.assert_allclose(p256[48:68], (p128[48:68] + 0.5) * 2 - 0.5, atol=1.5)
    assert lm_net.predict(np.stack([img, img])).shape == (2, 68, 2)

def test_landmark_input_errors(lm_net):
    img, _ = render_face(TEST_IDS[1])
    with pytest.raises(ShapeError, match=r"\(T, H, W, 3\)"): lm_net.predict(img[..., :2])
    with pytest.raises(InputError, match="uint8"): lm_net.predict(img.astype(np.float32))
    with pytest.raises(ShapeError, match="empty"): lm_net.predict(np.zeros((0, 128, 128, 3), np.uint8))
    with pytest.raises(ShapeError, match="expects"): lm_net(torch.zeros(1, 3, 64, 64))
    with pytest.raises(InputError, match="multiple of 32"): E.LandmarkConfig(size=100)

def test_landmark_loss_reaches_both_stages():
    ds = E.LandmarkRenders(4, seed=2, size=64)
    batch = torch.utils.data.default_collate([ds[i] for i in range(4)])
    net = E.LandmarkNet(size=64, width=4, feat=8, mouth_width=4, mouth_h=24, mouth_w=32)
    loss, logs = E.landmark_loss(net, batch)
    loss.backward()
    assert net.head.weight.grad.abs().sum() > 0 and net.mouth_head.weight.grad.abs().sum() > 0
    assert {"global", "mouth", "mouth_px"} <= set(logs)

def test_landmark_errors_known_value():
    y = np.random.default_rng(0).uniform(0, 128, (3, 68, 2))
    e = E.landmark_errors(y + np.array([3.0, 4.0]), y)
    assert e["mouth"] == pytest.approx(5.0) and e["all"] == pytest.approx(5.0)
    with pytest.raises(ShapeError): E.landmark_errors(y[:, :20], y[:, :20])

# ---------------------------------------------------------------- MFCC and sync
def test_mfcc_matches_python_speech_features():
    a = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    m = E.mfcc(a)
    assert m.shape == (99, 13)               # 1 + ceil((16000 - 400) / 160)
    # python_speech_features 0.6: mfcc(a * 32768, 16000)
    for (i, j), v in {(0, 0): 22.150127, (0, 1): -37.167603, (10, 5): -1.6914193, (50, 12): 1.4694539}.items():
        assert m[i, j] == pytest.approx(v, abs=1e-4)

def test_mfcc_gain_moves_only_log_energy():
    a = np.random.default_rng(1).standard_normal(6400).astype(np.float32) * 0.2
    m1, m2 = E.mfcc(a), E.mfcc(a * 0.25)
    np.testing.assert_allclose(m2[:, 1:], m1[:, 1:], atol=1e-3)
    np.testing.assert_allclose(m2[:, 0], m1[:, 0] + 2 * np.log(0.25), atol=1e-3)
    with pytest.raises(ShapeError): E.mfcc(np.zeros((2, 10), np.float32))
    with pytest.raises(InputError, match="float"): E.mfcc(np.zeros(10, np.int16))

def test_sync_inputs_windows(short_clips):
    c = short_clips[0]
    v, a = E.sync_inputs(c.frames, c.audio)
    assert v.shape == (35, 5, 36, 48) and v.dtype == np.uint8 and a.shape == (35, 13, 20)
    np.testing.assert_array_equal(v[1, :4], v[0, 1:])
    m = E.audio_mfcc(c.audio)
    np.testing.assert_array_equal(a[2], m[8:28].T)            # window v = MFCC rows 4v .. 4v+19
    crops = E.mouth_crops(c.frames[:3], margin=4)
    np.testing.assert_array_equal(crops[:, 4:-4, 4:-4], E.mouth_crops(c.frames[:3]))
    with pytest.raises(ShapeError, match="at least 6 frames"): E.sync_inputs(c.frames[:5], c.audio)
    with pytest.raises(InputError, match="16000 Hz"): E.sync_inputs(c.frames, c.audio, sr=22050)
    with pytest.raises(ShapeError): E.sync_inputs(c.frames[..., 0], c.audio)

def test_shift_audio_known_values():
    x = np.arange(1920, dtype=np.float32)
    np.testing.assert_array_equal(E.shift_audio(x, 1)[:1280], x[640:])
    np.testing.assert_array_equal(E.shift_audio(x, 1)[1280:], 0)
    np.testing.assert_array_equal(E.shift_audio(x, -2)[1280:], x[:640])
    np.testing.assert_array_equal(E.shift_audio(x, 0), x)
    with pytest.raises(InputError): E.shift_audio(x, 1.5)

class _FeatModel:
    "A stand-in for SyncExpert whose embeddings are given: tests av_sync's arithmetic alone."
    def __init__(self, v, a): self.v, self.a = v, a
    def embed(self, frames, audio, sr, fps): return self.v, self.a

def test_av_sync_protocol_by_hand():
    rng = np.random.default_rng(0)
    feats = torch.from_numpy(rng.standard_normal((40, 8)))
    v, a = feats[:30], feats[3:33]                      # audio window j carries video window j + 3: audio leads by 3
    r = E.av_sync(_FeatModel(v, a), None, None, max_offset=5)
    # an independent loop over syncnet_python's definition: zero-padded audio, mean over frames, argmin, median - min
    ap = np.concatenate([np.zeros((5, 8)), a.numpy(), np.zeros((5, 8))])
    d = np.array([[np.linalg.norm(v[i].numpy() - ap[i + k] + 1e-6) for k in range(11)] for i in range(30)])
    np.testing.assert_allclose(r.dists, d, rtol=1e-6)
    md = d.mean(0)
    assert r.offset == 5 - int(np.argmin(md)) == 3
    assert r.conf == pytest.approx(np.median(md) - md.min(), rel=1e-6)
    assert list(r.offsets[:3]) == [5, 4, 3] and r.min_dist == pytest.approx(md.min(), rel=1e-6)
    with pytest.raises(InputError): E.av_sync(_FeatModel(v, a), None, None, max_offset=-1)

def test_sync_expert_recovers_known_shift(sync_net, clip100):
    c = clip100
    g = E.av_sync(sync_net, c.frames, c.audio)
    assert g.offset == 0 and g.dists.shape == (95, 31)
    for k in (3, -6):
        assert E.av_sync(sync_net, c.frames, E.shift_audio(c.audio, k)).offset == k
    other = E.heldout_clips(1, 100, start=31)[0]
    assert E.av_sync(sync_net, c.frames, other.audio).conf < 0.5 * g.conf

def test_sync_contrastive_loss_by_hand():
    v, a = torch.zeros(3, 2), torch.tensor([[0.6, 0.0], [0.0, 0.6], [2.0, 0.0]])
    loss = E.sync_contrastive_loss(v, a, torch.tensor([1.0, 0.0, 0.0]), margin=1.0)
    assert float(loss) == pytest.approx(0.5 * (0.36 + 0.16 + 0.0) / 3)
    with pytest.raises(ShapeError): E.sync_contrastive_loss(v, a[:2], torch.ones(3))

def test_sync_pairs_and_loss_gradient():
    ds = E.SyncPairs(32, n_identities=2, clips_per_identity=1, n_frames=36, shifts=(2, 10))
    b = torch.utils.data.default_collate([ds[i] for i in range(12)])
    assert b["video"].shape == (12, 5, 36, 48) and b["mfcc"].shape == (12, 13, 20)
    assert 0 < b["label"].sum() < 12
    net = E.SyncExpert(width=8, emb=16)
    loss, _ = E.sync_loss(net, b); loss.backward()
    assert net.lip[0][0].weight.grad.abs().sum() > 0 and net.aud[0][0].weight.grad.abs().sum() > 0
    with pytest.raises(InputError, match="n_frames"): E.SyncPairs(8, n_frames=20)

# ---------------------------------------------------------------- probe matrix
def _toy(seed=0, n_clips=30, T=16):
    rng = np.random.default_rng(seed)
    clip = np.repeat(np.arange(n_clips), T)
    ident = np.repeat(rng.integers(0, 6, n_clips), T)
    pose = rng.uniform(-20, 20, (n_clips * T, 3))
    return rng, clip, ident, pose

def test_probe_matrix_known_cases():
    rng, clip, ident, pose = _toy()
    codes = {"pose-linear": pose @ rng.standard_normal((3, 10)), "identity": rng.standard_normal((6, 10))[ident],
             "random": rng.standard_normal((len(clip), 10))}
    t = E.probe_matrix(codes, {"identity": ident, "yaw": pose[:, 0], "roll": pose[:, 2]}, groups=clip)
    assert t.metric == {"identity": "acc", "yaw": "r2", "roll": "r2"} and t.chance["yaw"] == 0.0
    assert t["pose-linear"]["yaw"] > 0.999 and t["pose-linear"]["roll"] > 0.999
    assert t["pose-linear"]["identity"] < t.chance["identity"] + 0.2      # pose says nothing about who it is
    assert t["identity"]["identity"] == pytest.approx(1.0)
    assert abs(t["random"]["yaw"]) < 0.15 and t["random"]["identity"] < t.chance["identity"] + 0.2
    assert t.values().shape == (3, 3) and "chance" in t.to_markdown()

def test_probe_split_is_by_clip():
    _, clip, _, _ = _toy()
    tr, te = E.group_split(clip, 0.25, seed=3)
    assert not set(clip[tr]) & set(clip[te]) and tr.sum() + te.sum() == len(clip)
    assert len(set(clip[te])) == round(0.25 * 30)

def test_group_folds_keep_clips_whole_and_balanced():
    _, clip, _, _ = _toy()
    f = E.group_folds(clip, 5, seed=1)
    assert all(len(set(f[clip == c])) == 1 for c in range(30))
    assert np.bincount([f[clip == c][0] for c in range(30)]).tolist() == [6] * 5
    assert not np.array_equal(f, E.group_folds(clip, 5, seed=2))
    with pytest.raises(InputError, match="at least 5 groups"): E.group_folds(np.arange(4), 5)
    with pytest.raises(InputError, match=">= 2"): E.group_folds(clip, 1)

def test_probe_matrix_kfold_known_value():
    "folds=K: out-of-fold ridge predictions over all samples, one R² on all of them; repeats give mean and std."
    from synthlab.talk.losses import ridge_fit
    rng, clip, ident, pose = _toy(seed=4)
    X = pose[:, :1] @ rng.standard_normal((1, 6)) + rng.standard_normal((len(clip), 6))
    t = E.probe_matrix({"x": X}, {"yaw": pose[:, 0]}, groups=clip, folds=5, repeats=2, seed=7)
    want = []
    for r in range(2):
        f, pred = E.group_folds(clip, 5, 7 + r), np.empty(len(clip))
        for k in range(5):
            te = f == k
            pred[te] = ridge_fit(torch.from_numpy(X[~te]), torch.from_numpy(pose[~te, 0])).__call__(torch.from_numpy(X[te])).numpy()
        want.append(1 - ((pose[:, 0] - pred) ** 2).sum() / ((pose[:, 0] - pose[:, 0].mean()) ** 2).sum())
    assert t["x"]["yaw"] == pytest.approx(np.mean(want), abs=1e-9) and t.spread["x"]["yaw"] == pytest.approx(np.std(want), abs=1e-9)
    assert t.n_test == len(clip) and "5-fold" in t.protocol and "±" in t.to_markdown()
    assert E.probe_matrix({"x": X}, {"yaw": pose[:, 0]}, groups=clip, folds=5).spread is None     # one deal: no spread

def test_probe_matrix_kfold_is_steadier_than_one_split():
    "A code that carries nothing: one split's R² swings with the seed; 5-fold with 3 repeats swings far less."
    rng, clip, ident, pose = _toy(seed=5, n_clips=30, T=16)
    X = rng.standard_normal((len(clip), 16))
    one = [E.probe_matrix({"x": X}, {"yaw": pose[:, 0]}, groups=clip, seed=s)["x"]["yaw"] for s in range(8)]
    kf = [E.probe_matrix({"x": X}, {"yaw": pose[:, 0]}, groups=clip, folds=5, repeats=3, seed=10 * s)["x"]["yaw"] for s in range(8)]
    assert np.std(kf) < 0.5 * np.std(one) and abs(np.mean(kf)) < 0.2

def test_probe_matrix_errors():
    with pytest.raises(ShapeError, match="same number of samples"): E.probe_matrix({"a": np.zeros((5, 2))}, {"f": np.zeros(4)})
    with pytest.raises(InputError, match="at least 2 groups"): E.probe_matrix({"a": np.zeros((4, 2))}, {"f": np.zeros(4)}, groups=np.zeros(4))
    with pytest.raises(InputError, match="non-empty"): E.probe_matrix({}, {"f": np.zeros(4)})
    with pytest.raises(ShapeError, match="groups"): E.probe_matrix({"a": np.zeros((4, 2))}, {"f": np.zeros(4)}, groups=np.zeros(3))
    with pytest.raises(InputError, match="NaN"): E.probe_matrix({"a": np.full((4, 2), np.nan)}, {"f": np.zeros(4)})
    with pytest.raises(InputError, match="needs groups"): E.probe_matrix({"a": np.zeros((8, 2))}, {"f": np.zeros(8)}, folds=2)
    with pytest.raises(InputError, match="repeats"): E.probe_matrix({"a": np.zeros((8, 2))}, {"f": np.zeros(8)}, groups=np.arange(8), folds=2, repeats=0)

def test_plot_probe_matrix():
    import matplotlib; matplotlib.use("Agg")
    rng, clip, ident, pose = _toy(n_clips=8, T=4)
    t = E.probe_matrix({"c": pose}, {"yaw": pose[:, 0], "identity": ident}, groups=clip)
    ax = E.plot_probe_matrix(t)
    assert len(ax.texts) == 2

# ---------------------------------------------------------------- clip evaluation
def test_evaluate_clips_references(short_clips, lm_net, sync_net):
    gt = E.evaluate_clips(E.copy_pose_baseline, short_clips, lm_net, sync_net, frame_stride=4)
    st = E.evaluate_clips(E.static_baseline, short_clips, lm_net, sync_net, frame_stride=4)
    assert len(gt.per_clip) == 2 and gt.name == "copy_pose_baseline"
    mg, ms = gt.mean, st.mean
    assert mg["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert all(r["sync_offset"] == 0 for r in gt.per_clip)
    # LMD of the ground truth is the landmark net's own mouth error: sub-pixel
    assert 0 < mg["lmd"] < 1.0
    own = np.mean([E.landmark_errors(lm_net.predict(c.frames), c.landmarks)["mouth"] for c in short_clips])
    assert mg["lmd"] == pytest.approx(own, rel=1e-6)
    assert 0 < ms["ssim"] < 1 and ms["lmd"] > 2 * mg["lmd"] and ms["sync_conf"] < mg["sync_conf"]
    assert mg["cpbd"] == pytest.approx(float(np.mean([E.cpbd(list(c.frames[::4])) for c in short_clips])))
    assert "mean" in gt.to_markdown() and "static_baseline" in E.compare_methods([st, gt])

def test_evaluate_clips_errors(short_clips, lm_net, sync_net):
    c = short_clips[:1]
    with pytest.raises(ShapeError, match="expected"): E.evaluate_clips(lambda i, a, p: p[:-1], c, lm_net, sync_net)
    with pytest.raises(ShapeError, match="expected"): E.evaluate_clips(lambda i, a, p: p[:, :64], c, lm_net, sync_net)
    with pytest.raises(InputError, match="uint8"): E.evaluate_clips(lambda i, a, p: p.astype(np.float32), c, lm_net, sync_net)
    with pytest.raises(InputError, match="torch tensor"): E.evaluate_clips(lambda i, a, p: torch.from_numpy(p), c, lm_net, sync_net)
    with pytest.raises(InputError, match="empty"): E.evaluate_clips(E.static_baseline, [], lm_net, sync_net)
    with pytest.raises(InputError, match="identity must be"): E.evaluate_clips(E.static_baseline, c, lm_net, sync_net, identity="side")
    with pytest.raises(InputError, match="frame_stride"): E.evaluate_clips(E.static_baseline, c, lm_net, sync_net, frame_stride=0)
    with pytest.raises(InputError, match="callable"): E.evaluate_clips("model", c, lm_net, sync_net)
    bad = make_clip(1, 10, 64, identity=TEST_IDS[0]); bad.audio = bad.audio[:-100]
    with pytest.raises(ShapeError, match="audio samples"): E.evaluate_clips(E.static_baseline, [bad], lm_net, sync_net)
    with pytest.raises(ShapeError, match="identity_frame"): E.static_baseline(np.zeros((8, 8, 3), np.uint8), None, c[0].frames)

# ---------------------------------------------------------------- tasks
def test_tiny_tasks_train_and_ship(tmp_path):
    from synthlab.train import train_main
    for task in ("talk-landmarks-tiny", "talk-sync-tiny"):
        assert train_main([f"synthlab.talk.evaluate:{task}", "--out", str(tmp_path / task), "--max-steps", "2", "--no-progress"]) == 0
        model, tcfg, hist = E.load_expert_run(tmp_path / task)
        assert hist[-1]["step"] == 2
    E.ship_expert(tmp_path / "talk-landmarks-tiny", "tiny-lm", folder=tmp_path / "w", metrics={"demo": 1.0})
    assert hub.load("tiny-lm", folder=tmp_path / "w").cfg.size == 64
    assert (tmp_path / "w" / "history" / "tiny-lm.json").is_file()
