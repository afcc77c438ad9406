"Tests for synthlab.forensics.schema: ForgeryNet labels, list files, layout and datasets."
import pickle, warnings
import cv2
import numpy as np
import pytest
import torch
from synthlab.core import InputError, FileFormatError, MissingFileError, OverwriteError, SynthlabError
from synthlab.io import write_image, write_video
from synthlab.forensics.schema import (METHODS, REAL_FOLDERS, TRI_NAMES, MASK_THRESHOLD, Method, method, meta_of, ImageRecord,
    VideoRecord, read_image_list, write_image_list, read_video_list, write_video_list, ForgeryNetLayout, ForgeryImageDataset,
    ForgeryVideoDataset)

torch.set_num_threads(1)

# ---------------------------------------------------------------- labels
def test_methods_table():
    assert sorted(METHODS) == list(range(16))
    assert all(isinstance(m, Method) and m.id == i for i, m in METHODS.items())
    # forgerynet.md §1.2 (maintainer's ids): spot-check names, tri, level
    assert [METHODS[i].name for i in (1, 4, 7, 8, 10)] == ["FaceShifter", "BlendFace", "Talking Head Video", "ATVG-Net", "First Order Motion"]
    assert [METHODS[i].tri for i in range(16)] == [0, 2, 2, 2, 2, 2, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1]
    assert [i for i, m in METHODS.items() if m.level == "image"] == list(range(9, 16))
    assert [i for i, m in METHODS.items() if "video" in m.level] == list(range(1, 9))
    assert METHODS[0].level == "-" and METHODS[1].level == "image+video"
    assert REAL_FOLDERS == {16: "RAVDESS", 17: "CREMA-D", 18: "AVSpeech", 19: "VoxCeleb"}
    assert TRI_NAMES == ("real", "ID-remained", "ID-replaced") and MASK_THRESHOLD == 0.1
    with pytest.raises(Exception): METHODS[1].id = 3  # frozen

def test_method_lookup():
    assert method(4) is METHODS[4] and method(np.int64(2)).name == "FS-GAN"
    assert method("fsgan").id == 2 and method("FS-GAN").id == 2 and method("blend face").id == 4 and method("FOMM").id == 10
    assert method(METHODS[3]) is METHODS[3]
    assert meta_of(0) == "real" and meta_of(1) == "ID-replaced" and meta_of("StyleGAN2") == "ID-remained"
    for bad, msg in ((16, "0 (real) .. 15"), (-1, "0 (real) .. 15"), ("deepfakez", "unknown ForgeryNet method"), (True, "unknown"), (2.0, "unknown")):
        with pytest.raises(InputError, match=msg.replace("(", r"\(").replace(")", r"\)")): method(bad)

# ---------------------------------------------------------------- records
def test_image_record():
    r = ImageRecord("train_release/7/2ac4/b039/frame00038.jpg", 1, 1, 7)
    assert r.folder == 7 and r.method.name == "Talking Head Video"
    assert r.mask_path == "train_mask_release/7/2ac4/b039/frame00038.png"
    assert ImageRecord("val_release/16/a/frame1.jpg", 0, 0, 0).mask_path == "val_mask_release/16/a/frame1.png"
    assert r.line() == "train_release/7/2ac4/b039/frame00038.jpg 1 1 7"
    assert ImageRecord("x/y.jpg", np.int64(1), 2, 4).bin.__class__ is int
    assert ImageRecord("no_folder.jpg", 0, 0, 0).folder is None

@pytest.mark.parametrize("labels,msg", [((0, 0, 4), "inconsistent"), ((1, 0, 4), "inconsistent"), ((1, 2, 0), "inconsistent"),
    ((1, 2, 7), "tri should be 1"), ((1, 1, 1), "tri should be 2"), ((2, 1, 7), "out of range"), ((1, 3, 7), "out of range"),
    ((1, 1, 16), "out of range"), ((1.0, 1, 7), "must be an integer"), ((True, 1, 7), "must be an integer")])
def test_image_record_bad_labels(labels, msg):
    with pytest.raises(InputError, match=msg): ImageRecord("a/b.jpg", *labels)

def test_record_bad_path():
    with pytest.raises(InputError, match="whitespace"): ImageRecord("a b.jpg", 0, 0, 0)
    with pytest.raises(InputError, match="non-empty"): ImageRecord("", 0, 0, 0)

def test_video_record_known_values():
    v = VideoRecord("val_video_release/4/7f89/718e/video.mp4", [(0, 10, 0), (10, 35, 1), (45, 30, 0)], 1, 2, 4)
    assert v.fake_spans == [(10, 45)] and v.folder == 4
    assert v.line() == "3 val_video_release/4/7f89/718e/video.mp4 0 10 0 10 35 1 45 30 0 1 2 4"
    y = v.frame_labels(80)
    assert y.sum() == 35 and y[9] == 0 and y[10] == 1 and y[44] == 1 and y[45] == 0 and y[79] == 0
    assert v.frame_labels(20).tolist() == [0] * 10 + [1] * 10  # video shorter than the annotation
    # adjacent fake segments merge; no segments on a fake = all frames fake (folders 2 and 8)
    assert VideoRecord("v.mp4", [(0, 5, 1), (5, 5, 1), (12, 3, 1)], 1, 2, 1).fake_spans == [(0, 10), (12, 15)]
    assert VideoRecord("val_video_release/8/a/b/video.mp4", [], 1, 1, 8).frame_labels(4).tolist() == [1, 1, 1, 1]
    assert VideoRecord("r.mp4", [], 0, 0, 0).frame_labels(3).tolist() == [0, 0, 0]

@pytest.mark.parametrize("segs,msg", [([(0, 10, 2)], "flag 2"), ([(0, 0, 1)], "n_frames >= 1"), ([(-1, 3, 1)], "start >= 0"),
    ([(0, 10, 0), (5, 3, 1)], "overlaps"), ([(0, 10)], "must be"), ([(0, 1.5, 1)], "integers")])
def test_video_record_bad_segments(segs, msg):
    with pytest.raises(InputError, match=msg): VideoRecord("v.mp4", segs, 1, 2, 4)

def test_real_video_with_fake_segment():
    with pytest.raises(InputError, match="real video"): VideoRecord("v.mp4", [(0, 3, 1)], 0, 0, 0)

# ---------------------------------------------------------------- list files
EXAMPLE_IMG = "train_release/7/2ac4b039/b0398e1f/frame00038.jpg 1 1 15"
EXAMPLE_VID = "3 val_video_release/4/7f89aaaa/718ebbbb/video.mp4 0 10 0 10 35 1 45 30 0 1 2 4"

def test_read_forgerynet_examples(tmp_path):
    (tmp_path / "img.txt").write_text(EXAMPLE_IMG + "\n\ntrain_release/16/aa/bb/frame00001.jpg 0 0 0\r\n")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        recs = read_image_list(tmp_path / "img.txt", check_paths=False)
    assert len(recs) == 2 and recs[0].cls == 7 and (recs[0].bin, recs[0].tri) == (1, 1)  # the folder wins over 16cls 15
    assert recs[1] == ImageRecord("train_release/16/aa/bb/frame00001.jpg", 0, 0, 0)
    assert len(w) == 1 and "folder wins" in str(w[0].message) and "img.txt:1" in str(w[0].message)
    (tmp_path / "vid.txt").write_text(EXAMPLE_VID + "\n")
    (v,) = read_video_list(tmp_path / "vid.txt", check_paths=False)
    assert v.segments == [(0, 10, 0), (10, 35, 1), (45, 30, 0)] and v.fake_spans == [(10, 45)]
    assert (v.bin, v.tri, v.cls) == (1, 2, 4) and METHODS[v.cls].name == "BlendFace" and v.path == EXAMPLE_VID.split()[1]

def test_folder_wins_warns_once_per_file(tmp_path):
    lines = [f"train_release/7/a{i}/frame0.jpg 1 1 15" for i in range(5)]
    (tmp_path / "l.txt").write_text("\n".join(lines))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        recs = read_image_list(tmp_path / "l.txt", check_paths=False)
    assert [r.cls for r in recs] == [7] * 5 and len(w) == 1 and "5 line(s)" in str(w[0].message)

def test_folder_wins_then_inconsistent(tmp_path):
    (tmp_path / "l.txt").write_text("train_release/7/a/frame0.jpg 1 2 4\n")  # folder 7 is ID-remained, line says tri 2
    with pytest.raises(FileFormatError, match=r"l\.txt:1: folder 7 says 16cls 7"): read_image_list(tmp_path / "l.txt", check_paths=False)

def test_roundtrip_image_list(tmp_path):
    recs = [ImageRecord(f"train_release/{c}/m{c}/frame0000{c % 10}.jpg", int(c > 0), METHODS[c].tri, c) for c in range(16)]
    recs += [ImageRecord("train_release/17/x/frame1.jpg", 0, 0, 0)]
    p = write_image_list(recs, tmp_path / "out" / "image_list.txt")
    assert p.read_text().splitlines()[4] == "train_release/4/m4/frame00004.jpg 1 2 4"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # consistent lists read back without the folder warning
        assert read_image_list(p, check_paths=False) == recs
    with pytest.raises(OverwriteError, match="already exists"): write_image_list(recs, p)
    write_image_list(recs[:2], p, force=True)
    assert read_image_list(p, check_paths=False) == recs[:2]

def test_roundtrip_video_list(tmp_path):
    recs = [VideoRecord("val_video_release/4/a/b/video.mp4", [(0, 10, 0), (10, 35, 1), (45, 30, 0)], 1, 2, 4),
            VideoRecord("val_video_release/2/c/d/video.mp4", [], 1, 2, 2),
            VideoRecord("val_video_release/real/e/f/video.mp4", [(0, 20, 0)], 0, 0, 0)]
    p = write_video_list(recs, tmp_path / "video_list.txt")
    assert p.read_text().splitlines()[1] == "0 val_video_release/2/c/d/video.mp4 1 2 2"
    assert read_video_list(p, check_paths=False) == recs
    with pytest.raises(OverwriteError): write_video_list(recs, p)

def test_writer_rejects_wrong_records(tmp_path):
    with pytest.raises(InputError, match="not a ImageRecord"): write_image_list([VideoRecord("v.mp4", [], 0, 0, 0)], tmp_path / "a.txt")
    with pytest.raises(InputError, match="list of VideoRecord"): write_video_list(VideoRecord("v.mp4", [], 0, 0, 0), tmp_path / "a.txt")
    assert not (tmp_path / "a.txt").exists()

@pytest.mark.parametrize("line,msg", [
    ("train_release/4/a/f.jpg 1 2", "l.txt:2: expected 4 columns"),
    ("train_release/4/a/f.jpg 1 2 4 5", "l.txt:2: expected 4 columns"),
    ("train_release/4/a/f.jpg 1 x 4", "l.txt:2: labels must be integers, got 'x'"),
    ("train_release/4/a/f.jpg 1 2 4.0", "l.txt:2: labels must be integers"),
    ("train_release/4/a/f.jpg 1 2 16", "l.txt:2: 16cls label 16 is out of range"),
    ("train_release/4/a/f.jpg 3 2 4", "l.txt:2: bin label 3 is out of range"),
    ("train_release/x/a/f.jpg 0 0 4", "l.txt:2: labels bin=0 tri=0 16cls=4 are inconsistent"),
    ("train_release/x/a/f.jpg 1 1 4", "l.txt:2: .*tri should be 2"),
])
def test_image_list_errors(tmp_path, line, msg):
    (tmp_path / "l.txt").write_text("train_release/16/a/f.jpg 0 0 0\n" + line + "\n")
    with pytest.raises(FileFormatError, match=msg): read_image_list(tmp_path / "l.txt", check_paths=False)

@pytest.mark.parametrize("line,msg", [
    ("2 val_video_release/4/a/b/video.mp4 0 10 0 1 2 4", r"v\.txt:1: segment count mismatch: the line says 2 segment\(s\), so it needs 11 columns, but it has 8"),
    ("1 val_video_release/4/a/b/video.mp4 0 10 1 10 5 1 1 2 4", "v.txt:1: segment count mismatch"),
    ("x val_video_release/4/a/b/video.mp4 0 10 1 1 2 4", "v.txt:1: the segment count .* must be integers"),
    ("-1 val_video_release/4/a/b/video.mp4 1 2 4", "v.txt:1: segment count -1 is negative"),
    ("1 val_video_release/4/a/b/video.mp4 0 ten 1 1 2 4", "v.txt:1: segment values and labels must be integers, got 'ten'"),
    ("1 val_video_release/4/a/b/video.mp4 0 10 1 1 1 10", "v.txt:1: .*folder 4 says 16cls 4"),
    ("1 val_video_release/x/a/b/video.mp4 0 10 1 0 0 4", "v.txt:1: labels bin=0 tri=0 16cls=4 are inconsistent"),
    ("1 val_video_release/x/a/b/video.mp4 0 10 2 1 2 4", "v.txt:1: segment 0 .* flag 2"),
    ("1 val_video_release/x/a/b/video.mp4 0 10 1 0 0 0", "v.txt:1: a real video"),
    ("val_video_release/x/a/b/video.mp4 1 2 4", "v.txt:1: expected at least 5 columns"),
])
def test_video_list_errors(tmp_path, line, msg):
    (tmp_path / "v.txt").write_text(line + "\n")
    with pytest.raises(FileFormatError, match=msg): read_video_list(tmp_path / "v.txt", check_paths=False)

def test_list_file_errors(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"): read_image_list(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="folder"): read_video_list(tmp_path)
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00\x81" * 10)
    with pytest.raises(FileFormatError, match="not a text file"): read_image_list(tmp_path / "bin.txt")
    (tmp_path / "empty.txt").write_text("\n\n")
    assert read_image_list(tmp_path / "empty.txt") == []

# ---------------------------------------------------------------- layout + datasets
def _tiny(root, split="train"):
    "A tiny ForgeryNet-layout split: 2 real + 2 fake 32x32 jpgs with masks, one mp4 per kind."
    lay = ForgeryNetLayout(root, split)
    rng = np.random.default_rng(0)
    pre = lay.image_prefix
    recs, imgs = [], []
    for k, (folder, cls) in enumerate([(16, 0), (19, 0), (4, 4), (12, 12)]):
        img = cv2.resize(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8), (32, 32), interpolation=cv2.INTER_LINEAR)  # smooth: jpg-friendly
        r = ImageRecord(f"{pre}/{folder}/md5{k}/frame{k:05d}.jpg", int(cls > 0), METHODS[cls].tri, cls)
        write_image(img, lay.image_path(r.path)); recs.append(r); imgs.append(img)
        if cls:
            m = np.zeros((32, 32), np.uint8); m[8:24, 4:20] = 200
            write_image(m, lay.mask_path(r.path))
    write_image_list(recs, lay.image_list)
    frames = np.stack([np.full((32, 32, 3), 10 * t, np.uint8) for t in range(20)])
    vrecs = [VideoRecord(f"{lay.video_prefix}/4/aa/bb/video.mp4", [(0, 5, 0), (5, 10, 1), (15, 5, 0)], 1, 2, 4),
             VideoRecord(f"{lay.video_prefix}/real/cc/dd/video.mp4", [], 0, 0, 0)]
    for v in vrecs: write_video(frames, lay.video_path(v.path))
    write_video_list(vrecs, lay.video_list)
    return lay, recs, imgs, vrecs

@pytest.fixture
def tiny(tmp_path): return _tiny(tmp_path / "fn")

def test_layout_paths(tmp_path):
    lay = ForgeryNetLayout(tmp_path, "val")
    assert lay.dir == tmp_path / "Validation" and lay.image_list == tmp_path / "Validation/image_list.txt"
    assert lay.image_path("val_release/4/a/f.jpg") == tmp_path / "Validation/image/val_release/4/a/f.jpg"
    assert lay.mask_path("val_release/4/a/f.jpg") == tmp_path / "Validation/spatial_localize/val_mask_release/4/a/f.png"
    assert lay.mask_path("val_mask_release/4/a/f.png") == lay.mask_path("val_release/4/a/f.jpg")
    assert lay.video_path("val_video_release/4/a/b/video.mp4") == tmp_path / "Validation/video/val_video_release/4/a/b/video.mp4"
    assert ForgeryNetLayout(tmp_path, "test").dir.name == "Test" and ForgeryNetLayout(tmp_path).dir.name == "Training"
    with pytest.raises(InputError, match="split must be one of"): ForgeryNetLayout(tmp_path, "training")

def test_layout_reads_lists_with_default_root(tiny):
    lay, recs, _, vrecs = tiny
    assert lay.images() == recs and lay.videos() == vrecs
    assert read_image_list(lay.image_list) == recs          # default root = image/ next to the list
    assert read_video_list(lay.video_list) == vrecs         # default root = video/ next to the list

def test_missing_paths(tiny):
    lay, recs, _, vrecs = tiny
    lay.image_path(recs[2].path).unlink()
    with pytest.raises(MissingFileError, match=r"image_list\.txt:3: image .*frame00002\.jpg does not exist"): lay.images()
    assert len(lay.images(check_paths=False)) == 4
    lay.video_path(vrecs[1].path).unlink()
    with pytest.raises(MissingFileError, match=r"video_list\.txt:2: video .*video\.mp4 does not exist"): lay.videos()

def test_image_dataset(tiny):
    lay, recs, imgs, _ = tiny
    ds = ForgeryImageDataset(lay.root, "train", size=16)
    assert len(ds) == 4
    it = ds[2]
    assert set(it) == {"image", "mask", "bin", "tri", "cls", "path"}
    assert it["image"].shape == (3, 16, 16) and it["image"].dtype == torch.float32 and 0 <= it["image"].min() and it["image"].max() <= 1
    assert it["mask"].shape == (1, 16, 16) and it["cls"].dtype == torch.long
    assert (int(it["bin"]), int(it["tri"]), int(it["cls"])) == (1, 2, 4) and it["path"] == recs[2].path
    m = it["mask"][0]  # mask 200 on rows 8:24, cols 4:20 -> rows 4:12, cols 2:10 at half size (INTER_AREA = 2x2 mean)
    assert torch.allclose(m[4:12, 2:10], torch.full((8, 8), 200 / 255), atol=2 / 255) and m[:4].max() == 0 and m[:, 10:].max() == 0
    assert float(ds[0]["mask"].sum()) == 0 and (ds[2]["mask"] > MASK_THRESHOLD).sum() == 64
    # image content: INTER_AREA halving = 2x2 block mean of the decoded jpg (q95, so close to the source)
    want = torch.from_numpy(imgs[0].astype(np.float32).reshape(16, 2, 16, 2, 3).mean((1, 3))).permute(2, 0, 1) / 255
    assert (ds[0]["image"] - want).abs().mean() < 0.01
    assert "mask" not in ForgeryImageDataset(lay, size=16, with_mask=False)[2]
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=4)))
    assert batch["image"].shape == (4, 3, 16, 16) and batch["cls"].tolist() == [0, 0, 4, 12]

def test_image_dataset_missing_mask_is_zero(tiny):
    lay, recs, _, _ = tiny
    lay.mask_path(recs[3].path).unlink()
    assert float(ForgeryImageDataset(lay, size=16)[3]["mask"].sum()) == 0

def test_image_dataset_perturb(tiny):
    lay, recs, _, _ = tiny
    inv = lambda im: 255 - im
    a, b = ForgeryImageDataset(lay, size=32)[1]["image"], ForgeryImageDataset(lay, size=32, perturb=inv)[1]["image"]
    assert torch.allclose(a + b, torch.ones_like(a), atol=1e-6)
    with pytest.raises(SynthlabError, match="perturb returned"): ForgeryImageDataset(lay, size=16, perturb=lambda im: im / 255)[0]
    with pytest.raises(InputError, match="perturb must be a callable"): ForgeryImageDataset(lay, perturb="jpeg")

def test_image_dataset_corrupt_image(tiny):
    lay, recs, _, _ = tiny
    p = lay.image_path(recs[1].path)
    p.write_bytes(p.read_bytes()[:200])  # truncated jpg
    ds = ForgeryImageDataset(lay, size=16)
    with pytest.raises(FileFormatError, match=r"item 1 .*frame00001\.jpg.*(corrupt|truncated)"): ds[1]
    p.write_bytes(b"this is not an image at all")
    with pytest.raises(FileFormatError, match=r"frame00001\.jpg"): ds[1]

def test_image_dataset_args(tiny):
    lay, recs, _, _ = tiny
    with pytest.raises(InputError, match="size"): ForgeryImageDataset(lay, size=0)
    ds = ForgeryImageDataset(lay, size=16, records=recs[2:])
    assert len(ds) == 2 and int(ds[0]["cls"]) == 4
    with pytest.raises(InputError, match="ImageRecord"): ForgeryImageDataset(lay, records=["a.jpg"])

def test_video_dataset(tiny):
    lay, _, _, vrecs = tiny
    ds = ForgeryVideoDataset(lay, n_frames=5, size=16)
    it = ds[0]
    assert it["frames"].shape == (5, 3, 16, 16) and it["frames"].dtype == torch.float32
    assert it["frame_index"].tolist() == [0, 5, 10, 14, 19]              # evenly spaced over 20 frames
    assert it["frame_labels"].tolist() == [0, 1, 1, 1, 0]                # fake span [5, 15) holds 5, 10, 14
    assert abs(float(it["frames"][1].mean()) - 50 / 255) < 0.03          # frame 5 is grey level 50
    assert (int(it["bin"]), int(it["tri"]), int(it["cls"])) == (1, 2, 4) and it["path"] == vrecs[0].path
    full = ForgeryVideoDataset(lay, mode="full", size=16)[0]
    assert full["frames"].shape[0] == 20 and full["frame_labels"].tolist() == [0] * 5 + [1] * 10 + [0] * 5
    assert ForgeryVideoDataset(lay, n_frames=4, size=16)[1]["frame_labels"].tolist() == [0] * 4
    with pytest.raises(InputError, match="mode"): ForgeryVideoDataset(lay, mode="all")
    with pytest.raises(InputError, match="n_frames"): ForgeryVideoDataset(lay, n_frames=0)

def test_video_dataset_corrupt(tiny):
    lay, _, _, vrecs = tiny
    lay.video_path(vrecs[0].path).write_bytes(b"\x00" * 64)
    with pytest.raises(FileFormatError, match=r"item 0 .*video\.mp4"): ForgeryVideoDataset(lay, size=16)[0]

def test_records_pickle():
    r, v = ImageRecord("a/b.jpg", 1, 2, 4), VideoRecord("v.mp4", [(0, 3, 1)], 1, 2, 4)
    assert pickle.loads(pickle.dumps(r)) == r and pickle.loads(pickle.dumps(v)) == v
