"""synthlab.talk.widgets: held-out samples, code swaps, the pose code under sliders, the probe matrix, the speech strip,
and the four widgets. A fixed-seed random PC-AVS keeps the tests independent of the shipped preset."""
import io, warnings, wave
import numpy as np
import pytest
import torch

from synthlab.core import InputError, ShapeError
from synthlab.talk.data import TEST_IDS, VISEME_NAMES, VOWELS, split_ids, render_face, identity_for
from synthlab.talk.model import build_pcavs
from synthlab.talk.widgets import (TalkSample, Codes, PosePCA, ProbeSet, make_samples, heldout_sample, to_input, to_uint8,
                                   encode_samples, swap_code, generate_codes, code_swaps, change_map, mouth_share, mouth_box,
                                   pose_frame, encode_pose_frames, pose_pca, probe_set, probe_codes, plot_probes, plot_code_swap,
                                   plot_pose, parse_visemes, speak, plot_speech, mouth_crop, wav_bytes, figure_png, load_talk_model,
                                   CodeSwap, PoseSliders, ProbeMatrix, SpeechStrip, WORDS, MAX_FRAMES, ANGLE_LIMITS, CODE_NAMES)

PNG = b"\x89PNG\r\n\x1a\n"

@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build_pcavs("small").eval()

@pytest.fixture(scope="module")
def ab():
    return heldout_sample(0), heldout_sample(1)

@pytest.fixture(scope="module")
def small_probe(model):
    return probe_set(model, n_ids=3, per_id=4)

# --- samples -------------------------------------------------------------------------------------------------------

def test_heldout_sample_is_a_test_identity_and_deterministic(ab):
    a, b = ab
    assert (a.id, b.id) == (TEST_IDS[0], TEST_IDS[1])
    assert a.mel.shape == (1, 80, 20) and a.mel.dtype == np.float32
    assert a.pose_frame.shape == a.identity_frame.shape == (128, 128, 3) and a.pose_frame.dtype == np.uint8
    assert a.viseme in VOWELS and all(abs(a.pose[k]) <= ANGLE_LIMITS[k] for k in range(3))
    again = heldout_sample(0)
    assert np.array_equal(again.pose_frame, a.pose_frame) and np.array_equal(again.mel, a.mel)
    assert not np.array_equal(heldout_sample(0, seed=5).pose, a.pose)
    # the identity frame is the person frontal with the mouth closed; the pose frame renders the sample's factors
    assert np.array_equal(a.identity_frame, render_face(identity_for(a.id), (0, 0, 0), (0, 1), 0.0, 128)[0])
    assert str(VISEME_NAMES[a.viseme]) in a.label and f"id {a.id}" in a.label

def test_make_samples_factors():
    ss = make_samples(split_ids("test", 3, start=10), per_id=5, seed=2, size=64)
    assert len(ss) == 15 and [s.id for s in ss[::5]] == split_ids("test", 3, start=10)
    assert all(s.pose_frame.shape == (64, 64, 3) for s in ss)
    assert len({int(s.viseme) for s in ss}) > 3                     # all visemes are drawn by default
    only_a = make_samples([TEST_IDS[0]], per_id=4, visemes=[1])
    assert {s.viseme for s in only_a} == {1}
    # a silent segment has (nearly) no energy in its mel window, a vowel does
    sil = make_samples([TEST_IDS[0]], per_id=6, visemes=[0, 1], seed=0)
    e = {s.viseme: s.mel.mean() for s in sil}
    assert e[1] > e[0]

def test_samples_errors():
    with pytest.raises(InputError, match="index must be an integer"): heldout_sample(-1)
    with pytest.raises(InputError, match="per_id must be an integer >= 1"): make_samples([TEST_IDS[0]], per_id=0)
    with pytest.raises(InputError, match="viseme ids"): make_samples([TEST_IDS[0]], visemes=[42])
    with pytest.raises(InputError, match="identity ids"): make_samples([-3])

# --- codes and swaps -------------------------------------------------------------------------------------------------

def test_to_input_and_back():
    x = np.array([[[0, 255, 128]]], np.uint8)
    t = to_input(x)
    assert t.shape == (1, 3, 1, 1)
    assert torch.allclose(t.flatten(), torch.tensor([-1.0, 1.0, 128 / 127.5 - 1]), atol=1e-6)
    frames = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    assert np.array_equal(to_uint8(to_input(frames)), frames)          # exact round trip
    with pytest.raises(ShapeError, match="uint8"): to_input(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ShapeError, match="uint8"): to_input(np.zeros((8, 8), np.uint8))

def test_swap_keeps_the_other_codes(model, ab):
    a, b = ab
    ca, cb = encode_samples(model, [a]), encode_samples(model, [b])
    s = swap_code(ca, cb, "speech")
    assert torch.equal(s.speech, cb.speech)
    assert torch.equal(s.id_vec, ca.id_vec) and torch.equal(s.id_map, ca.id_map) and torch.equal(s.pose, ca.pose)
    p = swap_code(ca, cb, "pose")
    assert torch.equal(p.pose, cb.pose) and torch.equal(p.speech, ca.speech) and torch.equal(p.id_vec, ca.id_vec)
    i = swap_code(ca, cb, "identity")                                  # both identity tensors move together
    assert torch.equal(i.id_vec, cb.id_vec) and torch.equal(i.id_map, cb.id_map)
    assert torch.equal(i.speech, ca.speech) and torch.equal(i.pose, ca.pose)
    assert not torch.equal(ca.id_vec, cb.id_vec) and not torch.equal(ca.speech, cb.speech)   # two different people/sounds
    with pytest.raises(InputError, match="which must be one of"): swap_code(ca, cb, "voice")
    with pytest.raises(ShapeError, match="one size"): swap_code(encode_samples(model, [a, b]), cb, "pose")

def test_codes_rows_and_generate(model, ab):
    a, b = ab
    c = encode_samples(model, [a, b])
    assert len(c) == 2 and c.speech.shape == (2, model.cfg.pose.mouth_dim) and c.pose.shape == (2, 12)
    assert c.id_vec.shape == (2, model.cfg.identity.vec_dim)
    one = c[1]
    assert len(one) == 1 and torch.equal(one.pose, c.pose[1:2])
    g1, g2 = generate_codes(model, one), generate_codes(model, one)
    assert g1.shape == (1, 128, 128, 3) and g1.dtype == np.uint8 and np.array_equal(g1, g2)   # fixed noise: same face

def test_code_swaps_grid(model, ab):
    a, b = ab
    sw = code_swaps(model, a, b)
    assert list(sw) == ["A", "B"] + [f"A + B {w}" for w in CODE_NAMES]
    A, B, S = sw["A"][1], sw["B"][1], sw["A + B speech"][1]
    assert torch.equal(S.id_vec, A.id_vec) and torch.equal(S.pose, A.pose) and torch.equal(S.speech, B.speech)
    # the identity swap with A = B is a no-op: same codes, same picture
    same = code_swaps(model, a, a)
    assert np.array_equal(same["A + B identity"][0], same["A"][0])
    assert all(img.shape == (128, 128, 3) for img, _ in sw.values())
    png = figure_png(plot_code_swap(sw, a, b))
    assert png[:8] == PNG and len(png) > 20_000

def test_change_map_and_mouth_share():
    x, y = np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 3), np.uint8)
    y[1, 2] = (255, 0, 0)
    m = change_map(x, y)
    assert m.shape == (4, 4) and np.isclose(m[1, 2], 1 / 3) and m.sum() == m[1, 2]
    assert mouth_box(128) == (28, 51, 100, 105) and mouth_box(256) == (56, 102, 200, 210)
    d = np.zeros((128, 128)); d[60:70, 40:60] = 1                      # all inside the box
    assert mouth_share(d) == 1.0
    d[0:10, 0:20] = 3                                                 # three times as much outside
    assert np.isclose(mouth_share(d), 0.25)
    assert mouth_share(np.zeros((128, 128))) == 0.0
    with pytest.raises(ShapeError, match="differ in shape"): change_map(x, y[:2])

# --- pose ------------------------------------------------------------------------------------------------------------

def test_pose_slider_changes_the_pose_code(model, ab):
    a, _ = ab
    f0, f1 = pose_frame(a.id), pose_frame(a.id, yaw=25.0)
    assert np.array_equal(f0, a.identity_frame) and not np.array_equal(f0, f1)
    c = encode_pose_frames(model, np.stack([f0, f1, f0]))
    assert c.shape == (3, 12)
    assert torch.equal(c[0], c[2]) and not torch.equal(c[0], c[1])      # same frame, same code; turned head, new code

def test_pose_pca_known_directions():
    rng = np.random.default_rng(0)
    ang = rng.uniform(-1, 1, (300, 3)) * ANGLE_LIMITS
    u = np.linalg.qr(rng.standard_normal((12, 12)))[0]                  # an orthonormal basis
    codes = 5 + (ang[:, 0:1] / 10) * u[0] - (ang[:, 1:2] / 10) * u[1] + 1e-3 * rng.standard_normal((300, 12))
    p = pose_pca(codes, ang, k=3)
    assert p.components.shape == (3, 12) and np.allclose(p.mean, codes.mean(0))
    assert abs(p.components[0] @ u[0]) > 0.99 and abs(p.components[1] @ u[1]) > 0.99
    assert p.corr[0, 0] > 0.99 and p.corr[1, 1] > 0.99                 # signs chosen so the angle grows along +PC
    assert np.isclose(p.scale[0], np.std(ang[:, 0] / 10, ddof=1), rtol=0.02)
    assert p.explained[0] > p.explained[1] > p.explained[2] and p.explained.sum() <= 1 + 1e-9
    moved = p.move(torch.tensor(codes[:1], dtype=torch.float32), [2.0, 0.0, -1.0])
    delta = (moved - torch.tensor(codes[:1], dtype=torch.float32)).double().numpy()[0]
    assert np.allclose(delta, 2 * p.scale[0] * p.components[0] - p.scale[2] * p.components[2], atol=1e-5)
    assert "PC1 ~ yaw" in p.describe(0) and "PC2 ~ pitch" in p.describe(1)
    assert not p.constant and pose_pca(np.ones((6, 12)), ang[:6]).constant
    with pytest.raises(ShapeError, match="angles"): pose_pca(codes, ang[:, :2])
    with pytest.raises(InputError, match="at least 3"): pose_pca(codes[:2], ang[:2])

def test_pose_sliders_widget(model, small_probe):
    s = PoseSliders(model, probe=small_probe)
    assert s.status.value == "" and s.image.value[:8] == PNG and "yaw 0.0" in s.stats.value
    p0, (_, c0) = s.image.value, s.pose_code()
    s.yaw.value = 20.0
    p1, (src, c1) = s.image.value, s.pose_code()
    assert p1 != p0 and not torch.equal(c0, c1) and "yaw 20.0" in s.stats.value
    assert np.array_equal(src, pose_frame(s.sample.id, yaw=20.0))
    s.pcs[0].value = 1.5                                              # along PC1 by 1.5 standard deviations
    c2 = s.pose_code()[1]
    step = float((c2 - c1)[0].double() @ torch.as_tensor(s.pca.components[0]))
    assert np.isclose(step, 1.5 * s.pca.scale[0], rtol=1e-3, atol=1e-7)
    s.reset.click()
    assert s.image.value == p0 and s.yaw.value == 0.0 and s.pcs[0].value == 0.0
    s.face.value = 3
    assert "test face 3" in s.stats.value and s.status.value == ""
    png = figure_png(plot_pose(src, src, c1[0], c0[0]))
    assert png[:8] == PNG

# --- probes ----------------------------------------------------------------------------------------------------------

def test_probe_set_shapes_and_cache(model, small_probe):
    ps = small_probe
    assert len(ps) == 12 and probe_set(model, n_ids=3, per_id=4) is ps
    assert {k: v.shape for k, v in ps.codes.items()} == {"identity code": (12, model.cfg.identity.vec_dim),
                                                         "speech code": (12, model.cfg.pose.mouth_dim), "pose code": (12, 12)}
    assert list(ps.factors) == ["identity", "viseme", "yaw", "pitch", "roll"] and ps.angles.shape == (12, 3)
    assert sorted(set(ps.factors["identity"])) == split_ids("test", 3)
    assert probe_set(model, n_ids=3, per_id=4, cache=False) is not ps
    with pytest.raises(InputError, match="n_ids"): probe_set(model, n_ids=1)

def test_probe_matrix_shape(small_probe):
    t = probe_codes(small_probe)
    assert t.codes == ["identity code", "speech code", "pose code"]
    assert t.factors == ["identity", "viseme", "yaw", "pitch", "roll"]
    assert t.values().shape == (3, 5) and t.n_train + t.n_test == 12
    assert t.metric == {"identity": "acc", "viseme": "acc", "yaw": "r2", "pitch": "r2", "roll": "r2"}

def test_probe_codes_reads_the_right_factor():
    "A hand-made probe set: each code is built from exactly one factor, so the probes must find only the diagonal."
    rng = np.random.default_rng(0)
    N = 120
    ident, vis = np.repeat(np.arange(6), 20), rng.integers(0, 4, N)
    ang = rng.uniform(-1, 1, (N, 3)) * ANGLE_LIMITS
    codes = {"identity code": np.eye(6)[ident] + 0.01 * rng.standard_normal((N, 6)),
             "speech code": np.eye(4)[vis] + 0.01 * rng.standard_normal((N, 4)),
             "pose code": ang @ rng.standard_normal((3, 12))}
    factors = {"identity": ident + TEST_IDS[0], "viseme": vis, **{n: ang[:, j] for j, n in enumerate(("yaw", "pitch", "roll"))}}
    t = probe_codes(ProbeSet(codes, factors, np.zeros((N, 1, 1, 3), np.uint8)))
    assert t["identity code"]["identity"] == 1.0 and t["speech code"]["viseme"] == 1.0
    assert min(t["pose code"][k] for k in ("yaw", "pitch", "roll")) > 0.999
    assert t["identity code"]["viseme"] < t.chance["viseme"] + 0.25 and t["speech code"]["identity"] < t.chance["identity"] + 0.25
    assert max(t["identity code"][k] for k in ("yaw", "pitch", "roll")) < 0.2

def test_plot_probes_leaves_no_pyplot_state(small_probe):
    import matplotlib.pyplot as plt
    t = probe_codes(small_probe)
    n = len(plt.get_fignums())
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                # a warning would reach a dashboard as stderr
        png = figure_png(plot_probes(t))
    assert png[:8] == PNG and len(plt.get_fignums()) == n

def test_probe_matrix_widget(model):
    w = ProbeMatrix(model, n_ids=3, per_id=4)
    assert w.status.value == "" and w.image.value[:8] == PNG and "<table" in w.table_html.value
    assert "3 people × 4" in w.stats.value and w.table.values().shape == (3, 5)
    w.n_ids.value = 2
    assert "2 people × 4" in w.stats.value and w.table.n_train + w.table.n_test == 8

# --- speech ----------------------------------------------------------------------------------------------------------

def test_parse_visemes():
    assert parse_visemes("sil a MBP", 2).tolist() == [0, 0, 1, 1, 6, 6]
    assert parse_visemes("o,u", 1).tolist() == [VISEME_NAMES.index("O"), VISEME_NAMES.index("U")]
    for v in WORDS.values(): assert len(parse_visemes(v, 3)) <= MAX_FRAMES
    with pytest.raises(InputError, match="unknown visemes 'X', 'Y'"): parse_visemes("sil X Y")
    with pytest.raises(InputError, match="empty"): parse_visemes("  ")
    with pytest.raises(InputError, match=f"at most {MAX_FRAMES}"): parse_visemes("A " * 21, 3)
    with pytest.raises(InputError, match="hold"): parse_visemes("A", 0)

def test_speak_and_strip(model):
    track = parse_visemes("sil A MBP", 2)
    sp = speak(model, 0, track)
    assert len(sp) == 6 and sp.truth.shape == sp.generated.shape == (6, 128, 128, 3) and sp.id == TEST_IDS[0]
    assert len(sp.audio) == 6 * 640 and sp.mel.shape[1] == 80 and np.array_equal(sp.track, track)
    assert sp.mouth[2:4, 0].mean() > 0.5 > sp.mouth[4:, 0].max()      # the true mouth opens on A, closes on MBP
    x0, y0, x1, y1 = sp.box
    assert 48 < y0 < y1 <= 128 and 0 <= x0 < 64 < x1 <= 128           # the lower face, around the centre line
    assert mouth_crop(sp.truth, sp.box).shape == (6, y1 - y0, x1 - x0, 3)
    assert np.array_equal(speak(model, 0, track).generated, sp.generated)   # fixed noise: reproducible
    assert figure_png(plot_speech(sp))[:8] == PNG
    with pytest.raises(ShapeError, match="track"): speak(model, 0, np.zeros((2, 2), int))

def test_wav_bytes_round_trip():
    x = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0], np.float32)
    b = wav_bytes(x, 16000)
    with wave.open(io.BytesIO(b)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 16000, 6)
        pcm = np.frombuffer(w.readframes(6), "<i2")
    assert pcm.tolist() == [0, 16384, -16384, 32767, -32767, 32767]   # clipped to [-1, 1]

def test_speech_strip_widget(model):
    s = SpeechStrip(model, text="sil A sil", hold=2)
    assert s.status.value == "" and s.image.value[:8] == PNG and s.audio.value[:4] == b"RIFF" and s.preset.value is None
    p0 = s.image.value
    s.text.value = "sil O U sil"
    assert s.image.value != p0 and "sil O U sil" in s.stats.value
    s.text.value = "sil Q"
    assert "unknown viseme 'Q'" in s.status.value                     # a sentence in the page, not an exception
    s.preset.value = "papa"
    assert s.text.value == WORDS["papa"] and s.status.value == ""

# --- the swap widget and the model loader ----------------------------------------------------------------------------

def test_code_swap_widget(model):
    w = CodeSwap(model, a=0, b=1)
    assert w.status.value == "" and w.image.value[:8] == PNG and "A = test face 0 · B = test face 1" in w.stats.value
    p0 = w.image.value
    w.b.value = 2
    assert w.image.value != p0 and "B = test face 2" in w.stats.value and w.status.value == ""

def test_load_talk_model_fallback():
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        m, info = load_talk_model("no-such-preset", cache=False)
    assert not info["trained"] and "random weights" in info["note"] and any("no-such-preset" in str(r.message) for r in rec)
    assert not m.training
    with warnings.catch_warnings(record=True): m2, _ = load_talk_model("no-such-preset", cache=False)
    assert all(torch.equal(p, q) for p, q in zip(m.parameters(), m2.parameters()))   # the same random weights each time
