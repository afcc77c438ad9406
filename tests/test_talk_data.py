"""Tests for synthlab.talk.data: procedural talking heads, formant speech, clips and files, the training set,
PC-AVS's non-identity augmentation, the official crop of real frames and the face check."""
import json, time
from dataclasses import replace
import numpy as np
import pytest
import torch

from synthlab.core import InputError, ShapeError, FileFormatError, MissingFileError, OverwriteError
from synthlab.io import write_image
from synthlab.talk.data import (Identity, MIRROR, LM_GROUPS, VISEMES, VISEME_NAMES, MOUTH_NAMES, SIL, MBP, TRAIN_IDS, TEST_IDS,
                                TalkClip, SyntheticTalkDataset, sample_identity, identity_for, split_of, split_ids,
                                face_landmarks, render_face, rotation_matrix, sample_viseme_track, viseme_mouth, synth_speech,
                                sample_pose_track, sample_blink_track, make_clip, audio_window, write_clip, read_clip,
                                augment_nonid, voxceleb_crop, read_frames, load_demo, detect_faces, check_single_face, prepare_frame)

torch.set_num_threads(1)
A, I_, O, SZ = (VISEME_NAMES.index(n) for n in ("A", "I", "O", "SZ"))


@pytest.fixture(scope="module")
def clip():
    return make_clip(5, n_frames=40, size=96)

@pytest.fixture(scope="module")
def demo(shared_data):
    root = shared_data / "pcavs_demo"
    if not root.is_dir(): pytest.skip(f"{root} not present")
    return load_demo(root)


# ---------------------------------------------------------------- identities and splits
def test_identity_deterministic_and_json():
    assert identity_for(12) == identity_for(12) and identity_for(12) != identity_for(13)
    assert identity_for(12).id == 12
    assert sample_identity(3) == sample_identity(np.random.default_rng(3))
    d = json.loads(json.dumps(identity_for(4).to_dict()))
    assert Identity.from_dict(d) == identity_for(4)
    with pytest.raises(InputError, match="unknown identity fields"): Identity.from_dict({"nose": 1.0, "ears": 2})

def test_identity_split_disjoint():
    assert TRAIN_IDS.stop == TEST_IDS.start and len(range(max(TRAIN_IDS.start, TEST_IDS.start), min(TRAIN_IDS.stop, TEST_IDS.stop))) == 0
    tr, te = split_ids("train", 50), split_ids("test", 50)
    assert set(tr).isdisjoint(te) and te[0] == 1_000_000 and tr[0] == 0
    assert [split_of(i) for i in (0, 999_999, 1_000_000, 1_999_999)] == ["train", "train", "test", "test"]
    with pytest.raises(InputError, match="identity ids"): identity_for(2_000_000)
    with pytest.raises(InputError, match="identity ids"): identity_for(-3)
    with pytest.raises(InputError, match="'train' or 'test'"): split_ids("val", 2)
    with pytest.raises(InputError): split_ids("train", 0)

def test_formant_scale_follows_pitch():
    assert Identity(f0=100).formant_scale < Identity(f0=220).formant_scale <= 1.2


# ---------------------------------------------------------------- geometry
def test_rotation_matrix_is_a_rotation():
    R = rotation_matrix(23, -11, 7)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(R) == pytest.approx(1.0)
    np.testing.assert_allclose(rotation_matrix(90, 0, 0) @ [0, 0, 1], [1, 0, 0], atol=1e-12)   # yaw>0: +z (nose) → +x (right)

def test_frontal_face_is_mirror_symmetric():
    for i in (0, 7, 1_000_003):
        L = face_landmarks(i, size=128)
        np.testing.assert_allclose(L[:, 0], 127 - L[MIRROR, 0], atol=1e-3)
        np.testing.assert_allclose(L[:, 1], L[MIRROR, 1], atol=1e-3)
    assert sorted(MIRROR) == list(range(68)) and (MIRROR[MIRROR] == np.arange(68)).all()

@pytest.mark.parametrize("yaw", [10, 20, 30])
def test_yaw_foreshortens_symmetric_pairs_by_cos(yaw):
    idn = identity_for(3)
    L0, L = face_landmarks(idn, (0, 0, 0)), face_landmarks(idn, (yaw, 0, 0))
    c = np.cos(np.deg2rad(yaw))
    for i, j in ((36, 45), (39, 42), (48, 54), (31, 35), (17, 26)):   # mirror pairs share y and z
        assert np.linalg.norm(L[i] - L[j]) == pytest.approx(c * np.linalg.norm(L0[i] - L0[j]), rel=1e-5)
        assert L[i, 1] == pytest.approx(L[j, 1], abs=1e-4)               # yaw alone keeps them level
    assert L[30, 0] > L0[30, 0]                                          # the nose tip turns to image right
    Lm = face_landmarks(idn, (-yaw, 0, 0))
    np.testing.assert_allclose(Lm[:, 0], 127 - L[MIRROR, 0], atol=1e-3)  # −yaw is the mirror image of +yaw

def test_pitch_and_roll():
    idn = identity_for(3)
    L0 = face_landmarks(idn)
    up = face_landmarks(idn, (0, 15, 0))
    # pitch > 0 lifts the face: the nose tip (in front of the pivot) moves up relative to the jaw corners
    assert (up[30, 1] - up[[0, 16], 1].mean()) < (L0[30, 1] - L0[[0, 16], 1].mean())
    R = face_landmarks(idn, (0, 0, 12))
    d = lambda L: np.linalg.norm(L[:, None] - L[None], axis=-1)
    np.testing.assert_allclose(d(R), d(L0), atol=1e-3)                  # roll is an in-plane rotation: distances kept
    assert R[45, 1] > R[36, 1]                                          # clockwise: the image-right eye goes down

def test_mouth_opening_increases_inner_lip_distance():
    idn = identity_for(1)
    gap = [np.linalg.norm(np.subtract(*face_landmarks(idn, mouth=(o, 1.0))[[66, 62]])) for o in np.linspace(0, 1, 6)]
    assert gap[0] < 0.5 and np.all(np.diff(gap) > 0.5)
    w = [np.linalg.norm(np.subtract(*face_landmarks(idn, mouth=(0.2, wd))[[54, 48]])) for wd in (0.6, 1.0, 1.25)]
    assert w[0] < w[1] < w[2]                                           # spread (I) wider than rounded (U)
    chin = [face_landmarks(idn, mouth=(o, 1.0))[8, 1] for o in (0, 1)]
    assert chin[1] > chin[0] + 2                                        # the jaw drops with the mouth

def test_blink_closes_the_eye():
    idn = identity_for(1)
    h = lambda b: face_landmarks(idn, blink=b)[[41, 40, 47, 46], 1] - face_landmarks(idn, blink=b)[[37, 38, 43, 44], 1]
    assert (h(0) > 2).all() and np.all(np.abs(h(1)) < 0.8) and (h(0.5) < h(0)).all()

@pytest.mark.parametrize("size", [64, 128, 224])
def test_render_face_shapes_and_determinism(size):
    img, lm = render_face(2, (12, -4, 3), (0.5, 1.0), 0.2, size=size)
    assert img.shape == (size, size, 3) and img.dtype == np.uint8 and lm.shape == (68, 2) and lm.dtype == np.float32
    assert (lm > 0).all() and (lm < size - 1).all()
    np.testing.assert_allclose(lm, face_landmarks(2, (12, -4, 3), (0.5, 1.0), 0.2, size), atol=1e-4)
    assert np.array_equal(img, render_face(2, (12, -4, 3), (0.5, 1.0), 0.2, size=size)[0])
    np.testing.assert_allclose(face_landmarks(2, size=size) / size, face_landmarks(2, size=256) / 256, atol=0.5 / size)

def test_render_face_pixels_follow_factors():
    a = render_face(2, mouth=(0.0, 1.0))[0].astype(int)
    b = render_face(2, mouth=(1.0, 1.0))[0].astype(int)
    L = face_landmarks(2, mouth=(1.0, 1.0))
    x0, y0 = np.floor(L[48:68].min(0)).astype(int); x1, y1 = np.ceil(L[48:68].max(0)).astype(int)
    diff = np.abs(a - b).sum(-1)
    above_eyes = diff[:int(L[36:48, 1].min()) - 2]
    assert diff[y0:y1 + 1, x0:x1 + 1].mean() > 40 * max(above_eyes.mean(), 0.1)   # the mouth changes, the upper face hardly
    c = render_face(3, mouth=(0.0, 1.0))[0].astype(int)
    assert np.abs(a - c).mean() > 10                                    # another identity changes the whole picture

def test_render_face_errors():
    with pytest.raises(InputError, match="3 finite angles"): render_face(0, pose=(0, 0))
    with pytest.raises(InputError, match="3 finite angles"): render_face(0, pose=(0, np.nan, 0))
    with pytest.raises(InputError, match="2 finite numbers"): render_face(0, mouth=(1, 2, 3))
    with pytest.raises(InputError, match="32..1024"): render_face(0, size=16)
    with pytest.raises(InputError, match="Identity or an integer"): render_face("bob")


# ---------------------------------------------------------------- speech
def test_viseme_tracks():
    v = sample_viseme_track(100, 3)
    assert v.shape == (100,) and v[0] == SIL and v.min() >= 0 and v.max() < len(VISEMES)
    assert np.array_equal(v, sample_viseme_track(100, 3))
    assert (v == SIL).sum() > 0 and len(set(v.tolist())) > 3
    m = viseme_mouth(v)
    assert m.shape == (100, len(MOUTH_NAMES)) and (m[v == MBP, 0] == 0).all()
    np.testing.assert_allclose(viseme_mouth([A] * 4), [[VISEMES[A].open, VISEMES[A].width]] * 4)
    with pytest.raises(InputError, match="viseme ids"): viseme_mouth([0, 11])
    with pytest.raises(ShapeError): viseme_mouth([])
    with pytest.raises(InputError): sample_viseme_track(0)

def _peak_hz(x, f0, sr=16000, fmax=4000):
    S = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sr)
    w = int(f0 / f[1]) + 1
    Ss = np.convolve(S, np.ones(w) / w, "same")
    return f[f < fmax][np.argmax(Ss[f < fmax])]

@pytest.mark.parametrize("f0,scale", [(110, 1.0), (200, 1.12)])
def test_sustained_a_peaks_near_f1(f0, scale):
    a = synth_speech([A] * 50, rng=0, f0=f0, formant_scale=scale)
    assert len(a) == 50 * 640 and a.dtype == np.float32 and np.abs(a).max() == pytest.approx(0.5, abs=1e-6)
    F1 = 730 * scale
    assert abs(_peak_hz(a[8000:24000], f0) - F1) < 0.15 * F1
    i = synth_speech([I_] * 50, rng=0, f0=f0, formant_scale=scale)
    assert _peak_hz(i[8000:24000], f0) < 0.6 * F1                      # I has a low F1, A a high one

def test_fricative_is_high_noise_and_silence_is_silent():
    s = synth_speech([SZ] * 25, rng=0)[2000:14000]
    S = np.abs(np.fft.rfft(s)) ** 2; f = np.fft.rfftfreq(len(s), 1 / 16000)
    assert (S * f).sum() / S.sum() > 3500                               # spectral centroid of a hiss
    assert np.abs(synth_speech([SIL] * 8, rng=0)).max() == 0

@pytest.mark.parametrize("T", [1, 7, 50])
def test_audio_length_is_exact(T):
    v = sample_viseme_track(T, 1)
    assert len(synth_speech(v, rng=0)) == T * 640
    assert len(synth_speech(v, sr=8000, fps=25, rng=0)) == T * 320
    assert np.array_equal(synth_speech(v, rng=4), synth_speech(v, rng=4))

def test_speech_energy_follows_the_track():
    v = np.array([SIL] * 10 + [A] * 10 + [SIL] * 10)
    a = synth_speech(v, rng=0).reshape(30, 640)
    rms = np.sqrt((a ** 2).mean(1))
    assert rms[12:18].min() > 20 * rms[:8].max() and rms[23:].max() < 0.05 * rms[12:18].min()

def test_speech_errors():
    with pytest.raises(InputError, match="divisible by 4"): synth_speech([A] * 3, sr=16000, fps=30)
    with pytest.raises(InputError, match="f0"): synth_speech([A] * 3, f0=5)
    with pytest.raises(InputError, match="viseme ids"): synth_speech([1.5, 2.0])


# ---------------------------------------------------------------- clips
def test_pose_and_blink_tracks():
    p = sample_pose_track(500, 2)
    assert p.shape == (500, 3) and (np.abs(p) <= [30, 15, 10]).all()
    assert np.abs(np.diff(p, axis=0)).max() < 3.0                      # smooth: < 3° per frame
    b = sample_blink_track(2000, 2)
    assert b.min() == 0 and b.max() == 1 and 5 < (np.diff((b > 0.5).astype(int)) == 1).sum() < 60

def test_make_clip_factors(clip):
    T = 40
    assert isinstance(clip, TalkClip) and len(clip) == T and clip.fps == 25 and clip.sr == 16000
    assert clip.frames.shape == (T, 96, 96, 3) and clip.frames.dtype == np.uint8
    assert clip.audio.shape == (T * 640,) and clip.audio.dtype == np.float32 and np.abs(clip.audio).max() <= 1
    assert clip.pose.shape == (T, 3) and clip.viseme.shape == (T,) and clip.mouth.shape == (T, 2)
    assert clip.blink.shape == (T,) and clip.landmarks.shape == (T, 68, 2)
    for t in (0, 17, 39):   # the stored landmarks are those of the stored factors
        np.testing.assert_allclose(clip.landmarks[t], face_landmarks(clip.identity, clip.pose[t], clip.mouth[t], clip.blink[t], 96), atol=1e-3)
    assert split_of(clip.identity.id) == "train"

def test_make_clip_deterministic(clip):
    again = make_clip(5, n_frames=40, size=96)
    for k in ("frames", "audio", "pose", "viseme", "mouth", "blink", "landmarks"):
        assert np.array_equal(getattr(clip, k), getattr(again, k)), k
    other = make_clip(6, n_frames=40, size=96)
    assert not np.array_equal(clip.audio, other.audio)
    fixed = make_clip(5, n_frames=40, size=64, identity=1_000_002, pose=(0, 0, 0), blink=0.0)
    assert fixed.identity.id == 1_000_002 and (fixed.pose == 0).all() and np.array_equal(fixed.viseme, clip.viseme)

def test_mouth_landmarks_track_visemes():
    v = np.array([SIL] * 4 + [A] * 6 + [MBP] * 4 + [A] * 6 + [SIL] * 4)
    c = make_clip(1, len(v), 64, identity=0, visemes=v, pose=(0, 0, 0), blink=0.0)
    gap = np.linalg.norm(c.landmarks[:, 66] - c.landmarks[:, 62], axis=1)
    assert gap[v == A].min() > 5 * max(gap[v == MBP].max(), 0.1)

def test_make_clip_speed():
    t0 = time.perf_counter(); make_clip(0, 50, 128); dt = time.perf_counter() - t0
    assert dt < 3.0, f"a 50-frame 128 px clip took {dt:.2f} s"     # ~0.2 s on an idle core

def test_make_clip_errors():
    with pytest.raises(InputError, match="non-negative"): make_clip(-1)
    with pytest.raises(InputError, match="n_frames"): make_clip(0, n_frames=0)
    with pytest.raises(ShapeError, match="n_frames=4"): make_clip(0, 4, 64, visemes=[A, A])
    with pytest.raises(ShapeError, match="pose must be"): make_clip(0, 4, 64, pose=np.zeros((3, 3)))

def test_audio_window_alignment():
    ramp = np.arange(20 * 640, dtype=np.float32)
    w = audio_window(ramp, 10)
    assert len(w) == 3200 and w[0] == 640 * 10 - 240 - 1600 and w[-1] == 640 * 10 - 240 + 1599   # centred on 640t − 240
    c = audio_window(ramp, 10, align="centred")
    assert c[0] == 640 * 8 and c[-1] == 640 * 13 - 1                                          # frames t−2 … t+2
    z = audio_window(ramp, 0)
    assert (z[:1840] == 0).all() and z[1840] == 0 and z[1841] == 1
    e = audio_window(ramp, 19)
    assert (e[-(19 * 640 - 240 + 1600 - 20 * 640):] == 0).all()
    with pytest.raises(InputError, match="align"): audio_window(ramp, 3, align="left")


# ---------------------------------------------------------------- files
def test_write_read_clip_roundtrip(clip, tmp_path):
    d = write_clip(clip, tmp_path / "c")
    assert {p.name for p in d.iterdir()} == {"clip.mp4", "audio.wav", "factors.npz", "clip.json"}
    back = read_clip(d)
    for k in ("frames", "audio", "pose", "viseme", "mouth", "blink", "landmarks"):
        assert np.array_equal(getattr(back, k), getattr(clip, k)), k
    assert back.identity == clip.identity and back.seed == clip.seed
    meta = json.loads((d / "clip.json").read_text())
    assert meta["viseme_names"] == list(VISEME_NAMES) and meta["split"] == "train"
    with pytest.raises(OverwriteError, match="force=True"): write_clip(clip, d)
    write_clip(clip, d, force=True)

def test_read_clip_from_video_only(clip, tmp_path):
    d = write_clip(clip, tmp_path / "v")
    with np.load(d / "factors.npz") as z: keep = {k: z[k] for k in z.files if k != "frames"}
    np.savez(d / "factors.npz", **keep)
    back = read_clip(d)   # frames decoded from the H.264 file: lossy but close
    assert back.frames.shape == clip.frames.shape and np.abs(back.frames.astype(int) - clip.frames).mean() < 6

def test_read_clip_errors(clip, tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"): read_clip(tmp_path / "nope")
    (tmp_path / "e").mkdir()
    with pytest.raises(MissingFileError, match="clip.json"): read_clip(tmp_path / "e")
    d = write_clip(clip, tmp_path / "bad", video=False)
    (d / "factors.npz").write_bytes(b"PK\x03\x04 this is not a zip")
    with pytest.raises(FileFormatError, match="corrupt"): read_clip(d)
    (d / "clip.json").write_text("{not json")
    with pytest.raises(FileFormatError, match="JSON"): read_clip(d)
    d2 = write_clip(clip, tmp_path / "mp4")
    with np.load(d2 / "factors.npz") as z: keep = {k: z[k] for k in z.files if k != "frames"}
    np.savez(d2 / "factors.npz", **keep)
    (d2 / "clip.mp4").write_bytes((d2 / "clip.mp4").read_bytes()[:300])
    with pytest.raises(FileFormatError): read_clip(d2)
    with pytest.raises(InputError, match="TalkClip"): write_clip({"frames": 1}, tmp_path / "x")


# ---------------------------------------------------------------- augmentation
def test_augment_nonid_shapes_and_change(clip):
    img = clip.frames[10]
    for seed in range(6):
        out = augment_nonid(img, seed)
        assert out.shape == img.shape and out.dtype == np.uint8
        assert np.abs(out.astype(int) - img).mean() > 2
    assert np.array_equal(augment_nonid(img, 3), augment_nonid(img, 3))
    assert np.array_equal(augment_nonid(img, 3, colour=False, reshape=False, blur=False, crop=0), img)

def test_augment_steps_each_change_the_image(clip):
    img = clip.frames[10]
    off = dict(colour=False, reshape=False, blur=False, crop=0)
    for step, val in (("colour", True), ("reshape", True), ("blur", True), ("crop", 1.0)):
        out = augment_nonid(img, 1, **{**off, step: val})
        assert not np.array_equal(out, img), step
    # colour transfer only scales channels: per-channel ratios are constant where nothing clips
    out = augment_nonid(img, 1, **{**off, "colour": True}).astype(float)
    changed = [c for c in range(3) if not np.array_equal(out[..., c], img[..., c])]
    assert changed and changed == list(range(changed[0], changed[-1] + 1))

def test_augment_tensor_inputs(clip):
    img = clip.frames[3]
    x = torch.from_numpy(img).permute(2, 0, 1).float() / 127.5 - 1
    y = augment_nonid(x, 0)
    assert y.shape == x.shape and y.dtype == torch.float32 and y.min() >= -1 and y.max() <= 1
    np.testing.assert_allclose(y.numpy(), torch.from_numpy(augment_nonid(img, 0)).permute(2, 0, 1).float().numpy() / 127.5 - 1, atol=1e-6)
    b = augment_nonid(torch.stack([x, x]), 0)
    assert b.shape == (2, 3, 96, 96) and not torch.equal(b[0], b[1])   # one draw per image
    with pytest.raises(ShapeError): augment_nonid(torch.zeros(4, 32, 32))
    with pytest.raises(InputError, match="uint8"): augment_nonid(img.astype(np.float32))
    with pytest.raises(ShapeError, match="too small"): augment_nonid(np.zeros((20, 20, 3), np.uint8))


# ---------------------------------------------------------------- dataset
def test_dataset_items():
    ds = SyntheticTalkDataset("train", n_identities=2, clips_per_identity=2, n_frames=12, size=64, seed=1)
    assert len(ds) == 2 * 2 * 12
    it = ds[14]
    for k in ("identity", "target", "pose_source"):
        assert it[k].shape == (3, 64, 64) and it[k].dtype == torch.float32 and it[k].min() >= -1 and it[k].max() <= 1
    assert it["audio"].shape == (3200,) and it["pose"].shape == (3,) and it["mouth"].shape == (2,) and it["landmarks"].shape == (68, 2)
    assert int(it["frame_index"]) == 2 and int(it["clip_index"]) == 1 and int(it["identity_id"]) == 0
    c = ds.clip(1)
    assert torch.equal(it["target"], torch.from_numpy(c.frames[2]).permute(2, 0, 1).float() / 127.5 - 1)
    assert torch.equal(it["audio"], torch.from_numpy(audio_window(c.audio, 2)))
    assert int(it["viseme"]) == c.viseme[2] and not torch.equal(it["pose_source"], it["target"])
    assert not torch.equal(it["identity"], it["target"])
    # identity_pose is the pose of the very frame the identity image was taken from (the other clip of person 0)
    src = [t for t in range(12) if np.allclose(ds.clip(0).pose[t], it["identity_pose"].numpy())]
    assert it["identity_pose"].shape == (3,) and len(src) >= 1
    assert torch.equal(it["identity"], torch.from_numpy(ds.clip(0).frames[src[0]]).permute(2, 0, 1).float() / 127.5 - 1)
    # identity_clip / identity_frame say where exactly: that frame, with that pose
    k2, t2 = int(it["identity_clip"]), int(it["identity_frame"])
    assert k2 == 0 and np.allclose(ds.clip(k2).pose[t2], it["identity_pose"].numpy())
    assert torch.equal(it["identity"], torch.from_numpy(ds.clip(k2).frames[t2]).permute(2, 0, 1).float() / 127.5 - 1)
    again = SyntheticTalkDataset("train", n_identities=2, clips_per_identity=2, n_frames=12, size=64, seed=1)[14]
    assert all(torch.equal(it[k], again[k]) for k in it)
    assert all(int(ds[i]["identity_id"]) == 1 for i in range(24, 48, 7))
    with pytest.raises(IndexError): ds[48]

def test_dataset_identity_frame_is_same_person():
    ds = SyntheticTalkDataset("train", n_identities=2, clips_per_identity=2, n_frames=8, size=64, seed=0, augment=False)
    for i in (0, 9, 20, 31):
        it = ds[i]
        pid = ds.ids[int(it["clip_index"]) // 2]
        frames = np.concatenate([ds.clip(k).frames for k in range(len(ds.ids) * 2) if ds.ids[k // 2] == pid])
        x = (it["identity"].permute(1, 2, 0).numpy() + 1) * 127.5
        assert np.abs(frames.astype(float) - x).reshape(len(frames), -1).max(1).min() < 1e-3

def test_dataset_test_split_and_mel():
    ds = SyntheticTalkDataset("test", n_identities=1, clips_per_identity=1, n_frames=6, size=64)
    it = ds[4]
    assert int(it["identity_id"]) == TEST_IDS[0] and torch.equal(it["pose_source"], it["target"])   # no augmentation at test
    if "mel" in it:
        from synthlab.talk.audio import melspectrogram, mel_windows
        assert it["mel"].shape == (1, 80, 20) and 0 <= it["mel"].min() and it["mel"].max() <= 1
        ref = mel_windows(melspectrogram(ds.clip(0).audio), [4], pad="silence")[0]
        np.testing.assert_array_equal(it["mel"].numpy(), ref)
    b = next(iter(torch.utils.data.DataLoader(ds, batch_size=3)))
    assert b["target"].shape == (3, 3, 64, 64) and b["audio"].shape == (3, 3200)

def test_dataset_errors():
    with pytest.raises(InputError, match="'train' or 'test'"): SyntheticTalkDataset("dev")
    with pytest.raises(InputError, match="n_frames"): SyntheticTalkDataset(n_frames=1)
    with pytest.raises(InputError, match="clips_per_identity"): SyntheticTalkDataset(clips_per_identity=0)


# ---------------------------------------------------------------- real frames and the face check
def test_voxceleb_crop_bit_exact(shared_reference, demo):
    z = np.load(shared_reference / "pcavs" / "pcavs_reference.npz")
    np.testing.assert_array_equal(voxceleb_crop(demo.identities["517600055"]), z["input_u8"][0])
    pose = demo.pose_frames()
    assert pose.shape == (161, 224, 224, 3)
    np.testing.assert_array_equal(np.stack([voxceleb_crop(pose[t]) for t in z["pose_indices"]]), z["pose_u8"])

def test_voxceleb_crop_known_box():
    img = np.zeros((224, 224, 3), np.uint8)
    img[:192, 16:208] = 200                                  # exactly the kept box → a flat output
    assert (voxceleb_crop(img) == 200).all()
    assert voxceleb_crop(np.zeros((448, 448), np.uint8), size=112).shape == (112, 112, 3)

def test_load_demo(demo):
    assert demo.identity_id == "517600055" and len(demo.identities) == 5
    assert demo.sr == 16000 and len(demo.audio) == 232448            # the .mp3 that is a WAV
    assert demo.row["pose_num_frames"] == 160 and demo.row["mouth_num_frames"] == 363
    assert len(demo.videos["Pose_Source"]) == 6 and demo.mouth_frames(max_frames=3).shape == (3, 224, 224, 3)
    with pytest.raises(MissingFileError): load_demo(demo.root / "nope")

def test_face_check_on_real_faces(demo, shared_data):
    for k, im in demo.identities.items():
        x, y, w, h = check_single_face(im)
        assert w > 80 and 0 <= x and x + w <= 224, k
    portraits = shared_data / "talking_faces" / "portraits"
    if portraits.is_dir():
        from synthlab.io import read_image
        for p in sorted(portraits.glob("*.png")): assert len(detect_faces(read_image(p))) == 1, p.name
    two = np.concatenate([demo.identities["517600055"], demo.identities["581600416"]], axis=1)
    with pytest.raises(InputError, match="2 faces"): check_single_face(two, square=False)
    g = demo.identities["517600055"].mean(-1).astype(np.uint8)      # grayscale is accepted
    assert len(detect_faces(g)) == 1
    rgba = np.concatenate([demo.identities["517600055"], np.full((224, 224, 1), 255, np.uint8)], -1)
    assert len(detect_faces(rgba)) == 1
    assert prepare_frame(demo.identities["517600055"]).shape == (224, 224, 3)

def test_face_check_errors():
    with pytest.raises(InputError, match="no face"): check_single_face(np.full((128, 128, 3), 127, np.uint8))
    with pytest.raises(ShapeError, match="40x40"): check_single_face(np.zeros((40, 40, 3), np.uint8))
    with pytest.raises(ShapeError, match="100x140"): check_single_face(np.zeros((100, 140, 3), np.uint8))
    with pytest.raises(InputError, match="float"): detect_faces(np.full((64, 64, 3), 2.0))
    with pytest.raises(ShapeError): detect_faces(np.zeros((64, 64, 5), np.uint8))
    with pytest.raises(InputError, match="cascade"): detect_faces(np.zeros((64, 64, 3), np.uint8), cascade="cat")
    blankish = render_face(0, size=128)[0]
    assert prepare_frame(blankish, check_face=False).shape == (224, 224, 3)

def test_read_frames(tmp_path, clip):
    for i in range(3): write_image(clip.frames[i], tmp_path / "seq" / f"{i:06d}.png")
    f = read_frames(tmp_path / "seq")
    assert np.array_equal(f, clip.frames[:3])
    assert read_frames(tmp_path / "seq", max_frames=2, start=1).shape == (2, 96, 96, 3)
    with pytest.raises(MissingFileError): read_frames(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileFormatError, match="no image frames"): read_frames(tmp_path / "empty")
    write_image(np.zeros((50, 50, 3), np.uint8), tmp_path / "seq" / "000009.png")
    with pytest.raises(ShapeError, match="differ in size"): read_frames(tmp_path / "seq")
    (tmp_path / "bad").mkdir(); (tmp_path / "bad" / "000000.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(FileFormatError): read_frames(tmp_path / "bad")
    (tmp_path / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 garbage" * 4)
    with pytest.raises(FileFormatError): read_frames(tmp_path / "broken.mp4")
