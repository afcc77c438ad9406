"Tests for synthlab.forensics.faces: boxes, RGB coercion, Haar detection (huge / gray / RGBA), crops, landmark template, regions."
import numpy as np
import pytest
import cv2
from synthlab.core import InputError, ShapeError
from synthlab.forensics.faces import (Box, as_rgb, detect_faces, find_faces, crop_face, estimate_landmarks,
                                      LANDMARK_TEMPLATE, region_mask, check_landmarks, face_size, REGIONS)
from synthlab.talk.data import render_face

skdata = pytest.importorskip("skimage.data")

@pytest.fixture(scope="module")
def astro(): return skdata.astronaut()

@pytest.fixture(scope="module")
def astro_box(astro): return find_faces(astro, "astronaut")[0]

# --- Box -------------------------------------------------------------------------------------------------------
def test_box_geometry():
    b = Box.from_xywh(10, 20, 30, 40, 0.5)
    assert (b.w, b.h, b.center, b.area, b.score) == (30, 40, (25.0, 40.0), 1200, 0.5)
    e = b.expand(0.25)                       # square side = 40 * 1.5 = 60, same centre
    assert e.w == pytest.approx(60) and e.h == pytest.approx(60) and e.center == pytest.approx((25, 40))
    assert b.scale(0.5).xywh() == (5, 10, 15, 20)
    assert Box(**b.to_dict()) == b

# --- as_rgb ----------------------------------------------------------------------------------------------------
def test_as_rgb_conversions():
    g = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = as_rgb(g)
    assert out.shape == (3, 4, 3) and (out[..., 0] == g).all() and (out[..., 2] == g).all()
    rgba = np.dstack([np.full((2, 2), 1), np.full((2, 2), 2), np.full((2, 2), 3), np.full((2, 2), 9)]).astype(np.uint8)
    assert as_rgb(rgba)[0, 0].tolist() == [1, 2, 3]                      # alpha dropped
    assert as_rgb(np.full((2, 2, 3), 0.5))[0, 0, 0] == 128               # floats in [0, 1] scaled (rounded)
    assert as_rgb(np.zeros((2, 2, 1), np.uint8)).shape == (2, 2, 3)

@pytest.mark.parametrize("bad, err, msg", [(np.zeros((4, 4, 2), np.uint8), ShapeError, "must be (H, W)"),
                                           (np.zeros((0, 4, 3), np.uint8), ShapeError, "empty"),
                                           (np.full((4, 4, 3), 1.5), InputError, "[0, 1]"),
                                           (np.full((4, 4, 3), -3, np.int32), InputError, "uint8"),
                                           (np.zeros(5, np.uint8), ShapeError, "must be (H, W)")])
def test_as_rgb_errors(bad, err, msg):
    with pytest.raises(err, match=None) as e: as_rgb(bad, "photo.png")
    assert msg in str(e.value) and "photo.png" in str(e.value)

def test_as_rgb_rejects_tensor():
    torch = pytest.importorskip("torch")
    with pytest.raises(InputError, match="torch tensor"): as_rgb(torch.zeros(3, 8, 8))

# --- detection -------------------------------------------------------------------------------------------------
def test_astronaut_one_face(astro, astro_box):
    boxes = detect_faces(astro)
    assert len(boxes) == 1 and boxes[0].score == 1.0
    cx, cy = astro_box.center                # her face is at about x 225, y 115 of the 512x512 image
    assert 190 < cx < 260 and 80 < cy < 150 and 70 < astro_box.w < 170

def test_huge_image_boxes_mapped_back(astro, astro_box):
    big = cv2.resize(astro, (2560, 2560), interpolation=cv2.INTER_LINEAR)   # 5x: searched at 1024, mapped back
    b = find_faces(big, "big")[0]
    assert abs(b.center[0] / 5 - astro_box.center[0]) < 8 and abs(b.center[1] / 5 - astro_box.center[1]) < 8
    assert abs(b.w / 5 - astro_box.w) < 15

def test_gray_and_rgba_inputs(astro):
    gray = cv2.cvtColor(astro, cv2.COLOR_RGB2GRAY)
    assert len(find_faces(gray, "gray")) == 1
    rgba = np.dstack([astro, np.full(astro.shape[:2], 255, np.uint8)])
    assert len(find_faces(rgba, "rgba")) == 1

def test_no_face_error_names_file():
    flat = np.full((120, 160, 3), 77, np.uint8)
    with pytest.raises(InputError, match="no face found in holiday.jpg"): find_faces(flat, "holiday.jpg")
    assert detect_faces(flat) == []
    assert find_faces(flat, whole_image_fallback=True) == [Box(0.0, 0.0, 160.0, 120.0, 0.0)]
    assert detect_faces(np.zeros((8, 8, 3), np.uint8)) == []                 # too small to search: no crash

def test_detect_bad_max_side(astro):
    with pytest.raises(InputError, match="max_side"): detect_faces(astro, max_side=4)

def test_synthetic_heads_mostly_found():
    hits = sum(len(detect_faces(render_face(i, (0, 0, 0), size=128)[0])) > 0 for i in range(10))
    assert hits >= 7

# --- crop ------------------------------------------------------------------------------------------------------
def test_crop_known_values():
    img = np.zeros((64, 64, 3), np.uint8)
    img[..., 0] = np.arange(64)[None]; img[..., 1] = np.arange(64)[:, None]
    crop, sq = crop_face(img, Box(10, 12, 42, 44), size=32, margin=0.0)   # 32 px square, no resize needed
    assert sq == Box(10, 12, 42, 44, 1.0)
    assert (crop == img[12:44, 10:42]).all()

def test_crop_pads_at_border(astro):
    crop, sq = crop_face(astro, Box(-30, -30, 30, 30), size=48, margin=0.3)
    assert crop.shape == (48, 48, 3) and sq.x0 < 0
    assert (crop[0, 0] == astro[0, 0]).all()                                # edge replicated

def test_crop_errors(astro):
    with pytest.raises(InputError, match="must be a Box"): crop_face(astro, (0, 0, 10, 10))
    with pytest.raises(InputError, match="size"): crop_face(astro, Box(0, 0, 10, 10), size=3)
    with pytest.raises(ShapeError, match="empty"): crop_face(astro, Box(5, 5, 5, 9))

# --- landmarks -------------------------------------------------------------------------------------------------
def test_template_fills_box():
    lm = estimate_landmarks(np.zeros((100, 100, 3), np.uint8), Box(0, 0, 100, 100), refine=False)
    assert lm.shape == (68, 2) and lm.dtype == np.float32
    np.testing.assert_allclose(lm, LANDMARK_TEMPLATE * 100, atol=1e-4)
    # dlib-68 order: jaw left to right, chin lowest, eyes above nose tip above mouth
    assert lm[0, 0] < lm[8, 0] < lm[16, 0] and lm[8, 1] == lm[:17, 1].max()
    assert lm[36:48, 1].mean() < lm[30, 1] < lm[48:68, 1].mean()

def test_landmarks_on_synthetic_head_close_to_truth():
    errs = []
    for i in (1, 5, 9):
        img, lm_true = render_face(i, (0, 0, 0), size=256)
        bs = detect_faces(img)
        if not bs: continue
        errs.append(np.linalg.norm(estimate_landmarks(img, bs[0]) - lm_true, axis=1).mean() / bs[0].w)
    assert errs and max(errs) < 0.07, errs

def test_landmarks_on_astronaut(astro, astro_box):
    lm = estimate_landmarks(astro, astro_box)
    b = astro_box
    assert (lm[:, 0] > b.x0 - 0.2 * b.w).all() and (lm[:, 0] < b.x1 + 0.2 * b.w).all()
    eye_y, mouth_y = lm[36:48, 1].mean(), lm[48:68, 1].mean()
    assert b.y0 + 0.25 * b.h < eye_y < b.y0 + 0.55 * b.h and b.y0 + 0.6 * b.h < mouth_y < b.y1 + 0.1 * b.h
    assert lm[36:42, 0].mean() < lm[42:48, 0].mean()                         # right eye (image left) first

def test_landmark_errors(astro):
    with pytest.raises(InputError, match="must be a Box"): estimate_landmarks(astro, [0, 0, 9, 9])
    with pytest.raises(ShapeError, match=r"\(68, 2\)"): check_landmarks(np.zeros((67, 2)))
    with pytest.raises(InputError, match="NaN"): check_landmarks(np.full((68, 2), np.nan))

# --- regions ---------------------------------------------------------------------------------------------------
def test_region_mask_known_area():
    lm = np.zeros((68, 2), np.float32)
    lm[:27] = [[10, 10], [50, 10], [50, 40], [10, 40]] * 6 + [[10, 10], [50, 10], [50, 40]]   # face hull = 40x30 rectangle
    lm[27:] = [30, 25]
    m = region_mask((64, 64), lm, "face")
    assert m.dtype == np.uint8 and set(np.unique(m)) == {0, 255}
    assert abs((m > 0).sum() - 41 * 31) <= 41 + 31                            # the rectangle, up to its rim
    assert m[25, 30] == 255 and m[5, 5] == 0 and m[45, 30] == 0
    md = region_mask((64, 64), lm, "face", dilate=0.1)                          # face size 40 -> 4 px
    assert (md >= m).all() and md[25, 53] == 255 and md[25, 56] == 0
    assert face_size(lm) == pytest.approx(40)

def test_region_names_and_errors():
    img, lm = render_face(2, size=128)
    eyes = region_mask(img.shape, lm, "eyes", separate=True)
    both = region_mask(img.shape, lm, ["left_eye", "right_eye"])
    assert (eyes == both).all() and (region_mask(img.shape, lm, "eyes") >= eyes).all()
    assert set(REGIONS) >= {"face", "inner", "mouth", "eyes", "lips", "nose", "brows"}
    with pytest.raises(InputError, match="unknown region"): region_mask(img.shape, lm, "ears")
