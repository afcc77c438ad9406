"Tests for synthlab.forensics.forge: exact masks, regions, reenactment, determinism, the ForgeryNet-layout dataset, videos, real photos."
import json
import numpy as np
import pytest
import cv2
import torch
from synthlab.core import InputError, ShapeError, OverwriteError, MissingFileError
from synthlab.forensics.faces import region_mask
from synthlab.forensics.forge import (Face, Forgery, synthetic_face, real_face, forgery_mask, warp_landmarks, poisson_blend,
                                      face_swap, face_transfer, deepfake, alpha_swap, stacked, reenact, edit_attribute,
                                      EDIT_KINDS, OPS, forge, forge_real, forge_video, segments_for, VIDEO_OPS,
                                      make_dataset, make_image, dataset_card, split_identities, IMAGE_METHODS, REAL_FOLDER)
from synthlab.forensics.schema import METHODS, ForgeryNetLayout, read_image_list, read_video_list
from synthlab.talk.data import make_clip
from synthlab.io import read_image

torch.set_num_threads(1)
skdata = pytest.importorskip("skimage.data")

@pytest.fixture(scope="module")
def pair():
    return synthetic_face(11, (12, -4, 3), (0.3, 1.0), size=128), synthetic_face(42, (12, -4, 3), (0.3, 1.0), size=128)

def _hand_mask(fake, src):   # the ForgeryNet definition written out by hand
    return np.abs(fake.astype(np.int16) - src.astype(np.int16)).max(axis=2).astype(np.uint8)

SWAPS = [(face_swap, 4), (face_transfer, 1), (deepfake, 3), (alpha_swap, 5), (stacked, 9)]

# --- masks and regions -----------------------------------------------------------------------------------------
def test_forgery_mask_known_values():
    a = np.zeros((2, 2, 3), np.uint8); b = a.copy()
    b[0, 0] = (3, 250, 7); b[1, 1, 2] = 1
    assert forgery_mask(b, a).tolist() == [[250, 0], [0, 1]]
    assert forgery_mask(a, b).tolist() == [[250, 0], [0, 1]]                   # symmetric, no uint8 wrap-around
    with pytest.raises(ShapeError): forgery_mask(a, np.zeros((2, 3, 3), np.uint8))

@pytest.mark.parametrize("op, mid", SWAPS)
def test_swap_masks_exact_and_local(pair, op, mid):
    tgt, don = pair
    fg = op(tgt, don, seed=3)
    assert isinstance(fg, Forgery) and (fg.method_id, fg.tri) == (mid, METHODS[mid].tri) == (mid, 2)
    assert fg.image.shape == tgt.image.shape and fg.image.dtype == np.uint8
    assert (fg.source == tgt.image).all()
    assert (fg.mask == _hand_mask(fg.image, fg.source)).all()
    hull = region_mask(tgt.image.shape, tgt.landmarks, "face", dilate=0.05)   # the face's dilated hull
    assert (fg.mask[hull == 0] == 0).all()                                     # nothing outside changes
    inner = region_mask(tgt.image.shape, tgt.landmarks, ["eyes", "mouth"])
    assert (fg.mask[inner > 0] > 0).mean() > 0.3                               # the donor's features came in

@pytest.mark.parametrize("kind", list(EDIT_KINDS))
def test_edits_masks(pair, kind):
    tgt, _ = pair
    fg = edit_attribute(tgt, kind, seed=1)
    assert fg.method_id == EDIT_KINDS[kind] and fg.tri == 1
    assert (fg.mask == _hand_mask(fg.image, tgt.image)).all()
    assert (fg.mask[fg.region == 0] == 0).all() and (fg.mask[fg.region > 0] > 0).sum() > 20
    hull = region_mask(tgt.image.shape, tgt.landmarks, "face", dilate=0.12)
    assert (fg.mask[hull == 0] == 0).all()

def test_reenact_keeps_identity_pixels(pair):
    tgt, _ = pair
    fg = reenact(tgt, mouth=(0.95, 1.05), blink=1.0, seed=0)
    assert (fg.method_id, fg.tri) == (10, 1)
    outside = region_mask(tgt.image.shape, tgt.landmarks, ["mouth", "eyes"], dilate=0.15) == 0
    assert (fg.image[outside] == tgt.image[outside]).all()
    mouth = region_mask(tgt.image.shape, tgt.landmarks, "mouth")
    eyes = region_mask(tgt.image.shape, tgt.landmarks, "eyes", separate=True)
    assert fg.mask[mouth > 0].mean() > 10 and fg.mask[eyes > 0].mean() > 10   # mouth opened, eyes closed

def test_reenact_default_changes_something(pair):
    fg = reenact(pair[0], seed=5)
    assert fg.mask.max() > 30

# --- warps -----------------------------------------------------------------------------------------------------
def test_warp_identity_and_shift(pair):
    f = pair[0]
    same = warp_landmarks(f.image, f.landmarks, f.landmarks)
    assert np.abs(same.astype(int) - f.image).max() <= 1
    img = np.zeros((64, 64, 3), np.uint8); img[30:34, 20:24] = 255
    lm = np.array([[x, y] for x in (10, 22, 34, 46) for y in (10, 22, 34, 46)], float)
    out = warp_landmarks(img, lm, lm + [6, 0])                                 # a uniform 6 px shift
    assert (out[30:34, 26:30] == 255).all() and (out[30:34, 20:24] == 0).all()
    with pytest.raises(ShapeError): warp_landmarks(img, lm, lm[:5])

def test_poisson_blend_outside_untouched(pair):
    tgt, don = pair
    reg = region_mask(tgt.image.shape, tgt.landmarks, "inner")
    out = poisson_blend(tgt.image, don.image, reg)
    far = cv2.dilate(reg, np.ones((5, 5), np.uint8)) == 0
    assert (out[far] == tgt.image[far]).all()

# --- determinism -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", list(OPS))
def test_ops_seeded_bit_identical(pair, op):
    tgt, don = pair
    a, b = forge(tgt, op, don, seed=7), forge(tgt, op, don, seed=7)
    assert (a.image == b.image).all() and (a.mask == b.mask).all()

def test_make_image_deterministic():
    ids = split_identities("train", 4)
    for m in (1, 10, 13):
        (f1, g1), (f2, g2) = make_image(ids, "train", 3, m, 0, 96), make_image(ids, "train", 3, m, 0, 96)
        assert (f1.image == f2.image).all() and (g1.image == g2.image).all() and (g1.mask == g2.mask).all()
        assert (g1.source == f1.image).all()                                  # the fake's source is that real frame

# --- errors ----------------------------------------------------------------------------------------------------
def test_op_errors(pair):
    tgt, don = pair
    with pytest.raises(InputError, match="needs a donor"): forge(tgt, "face_swap")
    with pytest.raises(InputError, match="unknown forgery op"): forge(tgt, "morph", don)
    with pytest.raises(InputError, match="no image analogue"): forge(tgt, 2, don)
    with pytest.raises(InputError, match="Face objects"): face_swap(tgt.image, don)
    with pytest.raises(InputError, match="unknown edit kind"): edit_attribute(tgt, "age")
    with pytest.raises(InputError, match="alpha"): alpha_swap(tgt, don, alpha=1.5)
    with pytest.raises(ShapeError, match=r"\(68, 2\)"): Face(tgt.image, tgt.landmarks[:10])
    with pytest.raises(ShapeError): Face(np.zeros((8, 8, 2), np.uint8), tgt.landmarks)
    with pytest.raises(InputError, match="real photo"): Face(tgt.image, tgt.landmarks).render(blink=1.0)

# --- real photos -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["face_swap", "face_transfer", "reenact", "edit_geometry", "edit_light"])
def test_forge_real_astronaut(op):
    astro = skdata.astronaut()
    fg = forge_real(astro, op, seed=0, name="astronaut")
    assert fg.image.shape == astro.shape and (fg.source == astro).all()
    assert (fg.mask == _hand_mask(fg.image, astro)).all()
    assert (fg.mask[fg.region == 0] == 0).all() and fg.mask.max() > 10
    ys, xs = np.nonzero(fg.mask)                                                # the change sits on her face
    assert 150 < xs.mean() < 300 and 60 < ys.mean() < 200

def test_forge_real_no_face():
    with pytest.raises(InputError, match="no face found in wall.png"):
        forge_real(np.full((96, 96, 3), 120, np.uint8), name="wall.png")

def test_forge_real_with_photo_donor():
    astro = skdata.astronaut()
    fg = forge_real(astro, "alpha_swap", seed=1, donor=np.ascontiguousarray(astro[:, ::-1]))   # her mirror image as donor
    assert fg.method_id == 5 and fg.mask.max() > 0

# --- videos ----------------------------------------------------------------------------------------------------
def test_segments_for():
    assert segments_for(24, 5, 17) == [(0, 5, 0), (5, 12, 1), (17, 7, 0)]
    assert segments_for(10, 0, 10) == [(0, 10, 1)]
    with pytest.raises(InputError): segments_for(10, 6, 4)

@pytest.mark.parametrize("mid", sorted(VIDEO_OPS))
def test_forge_video_span_exact(mid):
    clip = make_clip(3, 12, 64, identity=5)
    frames, segs = forge_video(clip, mid, 3, 8, donor=9, seed=1)
    assert segs == [(0, 3, 0), (3, 5, 1), (8, 4, 0)]
    fake = np.array([(frames[t] != clip.frames[t]).any() for t in range(12)])
    assert fake.tolist() == [False] * 3 + [True] * 5 + [False] * 4              # exactly the segment's frames

def test_forge_video_errors():
    clip = make_clip(3, 10, 64, identity=5)
    with pytest.raises(InputError, match="TalkClip"): forge_video(clip.frames, 4, 2, 5, donor=9)
    with pytest.raises(InputError, match="needs a donor"): forge_video(clip, 4, 2, 5)
    with pytest.raises(InputError, match="talk_model"): forge_video(clip, 7, 2, 5)
    with pytest.raises(InputError, match="no video analogue"): forge_video(clip, 12, 2, 5, donor=9)

# --- the dataset -----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("forgery") / "ds"
    make_dataset(root, n_identities=3, images_per_method=1, videos=2, size=64, n_frames=12, progress=False)
    return root

def test_dataset_lists_parse_and_files_exist(tiny):
    for s in ("train", "val", "test"):
        L = ForgeryNetLayout(tiny, s)
        imgs = read_image_list(L.image_list, L.image_dir)                      # check_paths=True: every image exists
        assert len(imgs) == 2 * len(IMAGE_METHODS)
        assert sorted(r.cls for r in imgs if r.bin) == sorted(IMAGE_METHODS)
        for r in imgs:
            assert r.path.startswith(f"{s}_release/")
            assert r.folder == (REAL_FOLDER if r.bin == 0 else r.cls)
            assert (r.tri, r.bin) == ((METHODS[r.cls].tri, 1) if r.bin else (0, 0))
            if r.bin: assert L.mask_path(r).is_file()
            assert read_image(L.image_path(r.path)).shape == (64, 64, 3)
        vids = read_video_list(L.video_list, L.video_dir)
        assert len(vids) == 2 and sorted(v.bin for v in vids) == [0, 1]
        for v in vids:
            assert sum(n for _, n, _ in v.segments) == 12                      # segments cover the whole clip
            if v.bin: assert len(v.fake_spans) == 1 and v.segments[1][2] == 1 and v.segments[0][0] == 0

def test_dataset_mask_png_is_exact(tiny):
    L = ForgeryNetLayout(tiny, "val")
    ids = json.loads((tiny / "dataset.json").read_text())["identities"]["val"]
    recs = [r for r in read_image_list(L.image_list, L.image_dir) if r.bin]
    # the j-th fake of the list is make_image(..., j, cls): rebuild it and compare with the stored png
    for j, r in enumerate(recs[:4]):
        _, fg = make_image(ids, "val", j, r.cls, 0, 64)
        png = cv2.imread(str(L.mask_path(r)), cv2.IMREAD_UNCHANGED)
        assert png.dtype == np.uint8 and png.ndim == 2 and (png == fg.mask).all()

def test_dataset_identities_disjoint(tiny):
    card = json.loads((tiny / "dataset.json").read_text())
    sets = {s: set(card["identities"][s]) for s in ("train", "val", "test")}
    assert not (sets["train"] & sets["val"]) and not (sets["train"] & sets["test"]) and not (sets["val"] & sets["test"])
    folders = {}
    for s in ("train", "val", "test"):                                          # also visible in the paths (md5 of the id)
        L = ForgeryNetLayout(tiny, s)
        folders[s] = {r.path.split("/")[2] for r in read_image_list(L.image_list, L.image_dir, check_paths=False)}
    assert not (folders["train"] & folders["test"]) and not (folders["train"] & folders["val"])

def test_dataset_deterministic_and_overwrite(tiny, tmp_path):
    other = tmp_path / "again"
    make_dataset(other, n_identities=3, images_per_method=1, videos=0, size=64, splits=("val",), progress=False)
    L1, L2 = ForgeryNetLayout(tiny, "val"), ForgeryNetLayout(other, "val")
    assert L1.image_list.read_text() == L2.image_list.read_text()
    for r in read_image_list(L2.image_list, L2.image_dir):
        assert L1.image_path(r.path).read_bytes() == L2.image_path(r.path).read_bytes()
    with pytest.raises(OverwriteError, match="force=True"):
        make_dataset(other, n_identities=3, images_per_method=1, videos=0, size=64, splits=("val",), progress=False)
    make_dataset(other, n_identities=3, images_per_method=1, videos=0, size=64, splits=("val",), progress=False, force=True)

def test_dataset_card(tiny):
    txt = dataset_card(tiny)
    assert "BlendFace" in txt and "real" in txt and "total" in txt
    total = txt.strip().splitlines()[-1].split()
    assert total[1:] == [f"{2 * len(IMAGE_METHODS)}/2"] * 3
    with pytest.raises(MissingFileError): dataset_card(tiny / "nope")

@pytest.mark.parametrize("kw, msg", [(dict(n_identities=1), "n_identities >= 2"), (dict(splits=("dev",)), "splits"),
                                     (dict(methods=(2,)), "no analogue"), (dict(size=8), "size"),
                                     (dict(methods=(7,)), "talking_head"), (dict(images_per_method=-1), "images_per_method")])
def test_dataset_argument_errors(tmp_path, kw, msg):
    with pytest.raises(InputError, match=msg): make_dataset(tmp_path / "x", **{"progress": False, **kw})
    assert not (tmp_path / "x").exists()                                       # nothing written on a bad call

def test_talking_head_frames_optional():
    hub = pytest.importorskip("synthlab.hub")
    if "talk-small" not in hub.list_presets().names: pytest.skip("talk-small preset not installed")
    model = hub.load("talk-small").eval()
    clip = make_clip(1, 10, 128, identity=3)
    frames, segs = forge_video(clip, 7, 4, 6, talk_model=model)
    assert segs == [(0, 4, 0), (4, 2, 1), (6, 4, 0)]
    assert (frames[:4] == clip.frames[:4]).all() and (frames[6:] == clip.frames[6:]).all()
    assert np.abs(frames[4:6].astype(int) - clip.frames[4:6]).mean() > 2

def test_dataset_with_real_portraits(shared_data, tmp_path):
    files = sorted((shared_data / "pcavs_demo" / "Input").glob("*/000000.jpg"))[:2]
    if len(files) < 2: pytest.skip("pcavs_demo portraits not present")
    methods = (4, 10, 12)
    make_dataset(tmp_path / "p", n_identities=0, images_per_method=0, videos=0, size=96, splits=("test",), methods=methods,
                 portraits=files, progress=False)
    L = ForgeryNetLayout(tmp_path / "p", "test")
    recs = read_image_list(L.image_list, L.image_dir)
    assert len(recs) == 2 * (1 + len(methods))
    assert sorted(r.folder for r in recs if r.bin == 0) == [18, 18]
    for r in recs:
        assert read_image(L.image_path(r.path)).shape == (96, 96, 3)
        if r.bin:
            m = cv2.imread(str(L.mask_path(r)), cv2.IMREAD_UNCHANGED)
            assert m.shape == (96, 96) and m.max() > 0
    wall = tmp_path / "wall.png"
    cv2.imwrite(str(wall), np.full((100, 100, 3), 128, np.uint8))
    with pytest.raises(InputError, match="no face found in wall.png"):
        make_dataset(tmp_path / "q", n_identities=0, images_per_method=0, videos=0, splits=("test",), portraits=[wall], progress=False)
    assert not (tmp_path / "q").exists()

def test_camera_noise_sigma_seed_and_errors():
    from synthlab.forensics.forge import camera_noise
    clean = np.full((64, 64, 3), 128, np.uint8)
    noisy = camera_noise(clean, 3.0, seed=5)
    assert abs((noisy.astype(float) - 128).std() - 3.0) < 0.15
    assert (camera_noise(clean, 3.0, seed=5) == noisy).all() and not (camera_noise(clean, 3.0, seed=6) == noisy).all()
    assert (camera_noise(clean, 0) == clean).all()
    with pytest.raises(InputError, match="sigma"): camera_noise(clean, -1)

def test_generated_regions_lose_the_camera_noise():
    "The trace detectors learn: inside a re-drawn region the sensor noise is gone, outside it is untouched."
    from synthlab.forensics.forge import synthetic_face, edit_attribute
    face = synthetic_face(3, (5, 0, 0), (0.1, 1.0), size=128, noise=4.0, seed=2)
    clean = synthetic_face(3, (5, 0, 0), (0.1, 1.0), size=128).image
    hf = lambda im: np.abs(im.astype(np.float64) - cv2.medianBlur(im, 3)).max(2)
    flat = cv2.erode((hf(clean) == 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0   # where the drawing itself is flat
    for kind in ("tone", "smooth"):
        fg = edit_attribute(face, kind, seed=1)
        r = fg.region > 0
        inner = (cv2.erode(fg.region, np.ones((9, 9), np.uint8)) > 0) & flat
        assert inner.sum() > 200
        assert hf(fg.image)[inner].mean() < 0.6 * hf(face.image)[inner].mean(), kind
        assert (fg.image[~r] == face.image[~r]).all()
