#!/usr/bin/env python
"""Benchmark of the forensics wing (ForgeryNet's four tasks) on a held-out synthetic test set, real samples and speed.

    python benchmarks/forensics.py           # full run (several minutes on 2 cores), writes benchmarks/results/forensics.{md,json}
    python benchmarks/forensics.py --quick   # smoke run on a tiny dataset (< 2 min)

Test set: the TEST split of the synthetic ForgeryNet-layout dataset `synthlab train detect` builds
(runs/data/forgery, synthlab.forensics.train.DATASET): identities never seen in training; it also holds talking
heads made by synthlab's own talk wing (method id 7), a generator no detector was trained on.
  I    image classification: AUC / Acc / EER / AP (binary), 3-way and 16-way accuracy, per-method AUC, for the shipped
       `detect-small`; cross-forgery matrix of detect-small (all methods), detect-replaced and detect-remained (trained
       on one meta category's fakes) against the ID-replaced, ID-remained and talk-wing groups.
  II   spatial localization: L1 and IoU@0.1/0.2 of `detect-mask` per method (ForgeryNet's |fake - source| masks).
  III  video classification: video AUC / Acc of `detect-video` on 16-frame clips, per-frame AUC.
  IV   temporal localization: AP@tIoU 0.5/0.75/0.95 and AR@AN of `detect-video`'s temporal head on full videos.
Robustness: detect-small's AUC vs severity (1..5) of the ten re-rendering perturbations (albumentations 2.0.8).
Real data (internal only, never shipped): FF++ face crops (4 methods x 5 real / 5 fake) and the SimSwap pair,
scored by detect-small as they are: no fine-tuning, honest numbers.
Speed: images/s of every detector architecture at 128 px (batch 32, 1 and 2 threads) and seconds per Captum
attribution for detect-small (IG 50 steps, Saliency, Grad-CAM, Occlusion, SmoothGrad).
Reference points quoted from ForgeryNet's authors (forgerynet.md §1.5): video models trained on one meta category
score 92.9-95.5 AUC on it and 61.5-65.6 on the other.
"""
from __future__ import annotations
import argparse, json, os, platform, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SYNTHLAB_SHARED", ROOT.parent / "shared"))
OUT = ROOT / "benchmarks" / "results"
PAPER_CROSS = {"X3D-M": {"ID-replaced->ID-replaced": 92.91, "ID-replaced->ID-remained": 65.59,
                         "ID-remained->ID-replaced": 62.87, "ID-remained->ID-remained": 95.40},
               "SlowFast": {"ID-replaced->ID-replaced": 92.88, "ID-replaced->ID-remained": 64.83,
                            "ID-remained->ID-replaced": 61.50, "ID-remained->ID-remained": 95.47}}
TEST_GROUPS = {"ID-replaced": [1, 3, 4, 5, 9], "ID-remained": [10, 11, 12, 13, 14, 15], "talk wing (unseen)": [7]}
ROWS = {"all methods": "detect-small", "ID-replaced": "detect-replaced", "ID-remained": "detect-remained"}

def load1() -> float: return round(os.getloadavg()[0], 2)

def _f(x, d=3):
    import math
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), d)

def dataset(quick: bool, data: str | None) -> Path:
    from synthlab.forensics.forge import make_dataset
    from synthlab.forensics.train import DATASET
    if quick:
        root = Path(tempfile.mkdtemp(prefix="forensics_bench_")) / "data"
        make_dataset(root, n_identities=4, images_per_method=3, videos=4, n_frames=16,
                     talking_head=DATASET.get("talking_head", False), progress=False)
        return root
    root = Path(data or ROOT / "runs" / "data" / "forgery")
    if not (root / "Test" / "image_list.txt").exists():
        print(f"building the synthetic dataset in {root} (as synthlab train detect does)")
        make_dataset(root, **DATASET)
    return root

def load(name: str):
    from synthlab import hub
    return hub.load(name).eval()

def image_task(root: Path) -> dict:
    from synthlab.forensics.schema import ForgeryImageDataset
    from synthlab.forensics.evaluate import score_images, image_metrics, cross_forgery_matrix
    import numpy as np
    res, scores = {}, {}
    for row, name in ROWS.items():
        m = load(name)
        ds = ForgeryImageDataset(root, "test", size=m.cfg.size, with_mask=False)
        t0 = time.perf_counter(); s = score_images(m, ds, progress=False); dt = time.perf_counter() - t0
        scores[row] = s
        if row == "all methods":
            seen = s["cls"] != 7
            met = image_metrics(*(s[k][seen] for k in ("p_fake", "p_tri", "p_cls", "bin", "tri", "cls")))
            allm = image_metrics(s["p_fake"], s["p_tri"], s["p_cls"], s["bin"], s["tri"], s["cls"])
            res["detect-small"] = dict(n=int(len(ds)), seconds=_f(dt, 2), intra_auc=_f(met["auc"], 4), acc=_f(met["acc"]), eer=_f(met["eer"]),
                                       ap=_f(met["ap"], 4), acc3=_f(met["acc3"]), acc16=_f(met["acc16"]),
                                       per_method_auc={int(k): _f(v, 4) for k, v in allm["per_method_auc"].items()},
                                       auc_with_unseen=_f(allm["auc"], 4))
    M = cross_forgery_matrix(scores, TEST_GROUPS, missing="nan")
    res["cross"] = {r: {c: _f(M.value(r, c), 4) for c in M.cols} for r in M.rows}
    res["cross_acc"] = {r: {c: _f(M.value(r, c, "acc"), 3) for c in M.cols} for r in M.rows}
    return res

def mask_task(root: Path) -> dict:
    from synthlab.forensics.schema import ForgeryImageDataset
    from synthlab.forensics.evaluate import eval_masks
    m = load("detect-mask")
    ds = ForgeryImageDataset(root, "test", size=m.cfg.size)
    r = eval_masks(m, ds, progress=False)
    out = {k: _f(v, 4) for k, v in r.items() if isinstance(v, (int, float))}
    out["per_method"] = {int(k): {kk: _f(vv, 4) for kk, vv in v.items() if isinstance(vv, (int, float))} for k, v in r.get("per_method", {}).items()}
    return out

def video_task(root: Path) -> dict:
    from synthlab.forensics.schema import ForgeryVideoDataset
    from synthlab.forensics.evaluate import eval_videos, eval_temporal
    m = load("detect-video")
    clip = ForgeryVideoDataset(root, "test", n_frames=m.cfg.n_frames, size=m.cfg.size, mode="clip")
    full = ForgeryVideoDataset(root, "test", n_frames=m.cfg.n_frames, size=m.cfg.size, mode="full")
    v = eval_videos(m, clip, progress=False)
    t = eval_temporal(m, full, progress=False)
    keep = lambda d: {k: _f(x, 4) for k, x in d.items() if isinstance(x, (int, float))}
    # baseline: the image detector on every frame (as `synthlab detect` does without a video model), mean over frames
    import numpy as np
    from synthlab.forensics.video import frames_to_segments, frame_labels_to_spans
    from synthlab.forensics.evaluate import video_metrics, temporal_metrics
    det = load("detect-small")
    full128 = ForgeryVideoDataset(root, "test", n_frames=m.cfg.n_frames, size=det.cfg.size, mode="full")
    vp, vb, vc, pred, gt = [], [], [], {}, {}
    for i in range(len(full128)):
        it = full128[i]
        p = det.predict(it["frames"])["p_fake"].numpy()
        vp.append(float(p.mean())); vb.append(int(it["bin"])); vc.append(int(it["cls"]))
        pred[i] = frames_to_segments(p); spans = frame_labels_to_spans(it["frame_labels"].numpy())
        if spans: gt[i] = spans
    base_v = video_metrics(np.array(vp), np.array(vb), np.array(vc))
    base_t = temporal_metrics(pred, gt, {i: c for i, c in enumerate(vc)})
    per = lambda d: {int(mid): keep(ap) for mid, ap in d.get("per_method", {}).items()}
    return dict(video=keep(v), temporal=keep(t), temporal_per_method=per(t), n_videos=len(clip),
                image_detector_baseline=dict(video=keep(base_v), temporal=keep(base_t), temporal_per_method=per(base_t)))

def robustness(root: Path, quick: bool) -> dict:
    import numpy as np
    from synthlab.io import read_image
    from synthlab.forensics.schema import ForgeryNetLayout
    from synthlab.forensics.perturb import PERTURBATIONS
    from synthlab.forensics.evaluate import robustness_curves, detector_score_fn
    L = ForgeryNetLayout(root, "test")
    recs = [r for r in L.images() if r.cls != 7]
    rng = np.random.default_rng(0)
    n = 16 if quick else 150
    real = [r for r in recs if r.bin == 0]; fake = [r for r in recs if r.bin == 1]
    pick = [real[i] for i in rng.permutation(len(real))[:n]] + [fake[i] for i in rng.permutation(len(fake))[:n]]
    imgs = [read_image(L.image_path(r.path)) for r in pick]
    m = load("detect-small")
    sev = (0, 1, 3, 5) if quick else (0, 1, 2, 3, 4, 5)
    c = robustness_curves(detector_score_fn(m), imgs, [r.bin for r in pick], list(PERTURBATIONS), severities=sev, seed=0)
    return dict(n=len(pick), severities=list(sev), auc={k: [_f(a, 3) for a in v] for k, v in c.items()})

def real_data() -> dict:
    import numpy as np
    from synthlab.io import read_image
    from synthlab.metrics import roc_auc
    from synthlab.forensics.faces import find_faces, crop_face
    from synthlab.forensics.evaluate import detector_score_fn
    base = SHARED / "data" / "face_forgery"
    if not base.exists(): return {"skipped": f"{base} not found"}
    m = load("detect-small"); score = detector_score_fn(m)
    out = {}
    ff = base / "ffpp_frames"
    if ff.exists():
        allp, ally = [], []
        for meth in sorted(p.name for p in ff.iterdir() if p.is_dir()):
            p, y = [], []
            for lab, sub in ((0, "real"), (1, "fake")):
                for f in sorted((ff / meth / sub).glob("*.png")):
                    p.append(float(score([read_image(f)])[0])); y.append(lab)
            out[f"FF++ {meth}"] = dict(n=len(p), auc=_f(roc_auc(np.array(p), np.array(y))),
                                      mean_p_real=_f(np.mean([a for a, b in zip(p, y) if b == 0])),
                                      mean_p_fake=_f(np.mean([a for a, b in zip(p, y) if b == 1])))
            allp += p; ally += y
        out["FF++ all"] = dict(n=len(allp), auc=_f(roc_auc(np.array(allp), np.array(ally))))
    ss = base / "simswap"
    if ss.exists():
        faces = {}
        for lab, f in ((0, "real_multi_people.jpg"), (1, "fake_multi_people_swapped.jpg"), (1, "fake_result.jpg")):
            img = read_image(ss / f)
            try: boxes = find_faces(img, f)
            except Exception as e: faces[f] = dict(error=str(e)); continue
            crops = [crop_face(img, b, 128)[0] for b in boxes]     # face boxes only: the fake's corner logo is never seen
            faces[f] = dict(label=lab, faces=len(boxes), p_fake=[_f(v) for v in score(crops)])
        out["SimSwap"] = faces
    return out

def speed(quick: bool) -> dict:
    import torch
    from synthlab.forensics.detectors import ARCHS, build_detector
    from synthlab.forensics.widgets import time_methods
    res = {"images_per_s": {}}
    B = 8 if quick else 32
    for arch in ARCHS:
        m = build_detector(arch=arch, size=128).eval()
        x = torch.rand(B, 3, 128, 128)
        row = {"params": sum(p.numel() for p in m.parameters())}
        for th in (1, 2):
            torch.set_num_threads(th)
            with torch.no_grad():
                m(x[:2]); t0 = time.perf_counter(); reps = 1 if quick else 2
                for _ in range(reps): m(x)
            row[f"{th} thread"] = _f(B * reps / (time.perf_counter() - t0), 1)
        res["images_per_s"][arch] = row
    torch.set_num_threads(1)
    m = load("detect-small")
    from synthlab.forensics.forge import synthetic_face
    from synthlab.talk.data import identity_for
    img = synthetic_face(identity_for(0), size=128).image
    res["captum_s_1thread"] = {k: _f(v, 3) for k, v in time_methods(m, img, repeats=1 if quick else 3).items()}
    res["load"] = load1()
    return res

def markdown(rep: dict) -> str:
    L = [f"# Forensics benchmark ({'quick' if rep['quick'] else 'full'})", "",
         f"Machine: {rep['machine']}; test set: {rep['data']}", ""]
    im, sp = rep.get("image"), rep.get("speed")
    if im or sp:
        L += ["## Targets (issue 5)", "", "| target | measured | met |", "|---|---|---|"]
        if im:
            a = im["detect-small"]["intra_auc"]
            L += [f"| binary AUC >= 0.98 intra-forgery (held-out synthetic) | {a} | {'yes' if a is not None and a >= 0.98 else 'no'} |"]
            for r, c in (("ID-replaced", "ID-remained"), ("ID-remained", "ID-replaced")):
                v = im["cross"][r][c]
                L += [f"| cross-meta AUC >= 0.80: trained on {r}, tested on {c} | {v} | {'yes' if v is not None and v >= 0.8 else 'no'} |"]
        if sp:
            c = sp["captum_s_1thread"]
            L += [f"| Integrated Gradients (50 steps) <= 2 s per image | {c['ig']} s | {'yes' if c['ig'] <= 2 else 'no'} |",
                  f"| Grad-CAM <= 0.3 s per image | {c['gradcam']} s | {'yes' if c['gradcam'] <= 0.3 else 'no'} |"]
        L += [""]
    if im:
        d = im["detect-small"]
        L += ["## I. Image classification (held-out identities)", "",
              f"detect-small on {d['n']} test images: intra-forgery AUC **{d['intra_auc']}** (seen methods vs reals), Acc {d['acc']}, "
              f"EER {d['eer']}, AP {d['ap']}; 3-way acc {d['acc3']}, 16-way acc {d['acc16']}; AUC with the unseen talk-wing fakes {d['auc_with_unseen']}.", "",
              "| method id | " + " | ".join(str(k) for k in d["per_method_auc"]) + " |",
              "|---" * (len(d["per_method_auc"]) + 1) + "|",
              "| AUC vs reals | " + " | ".join(str(v) for v in d["per_method_auc"].values()) + " |", "",
              "Cross-forgery AUC (rows: trained on; columns: tested on; fakes of that group vs all test reals):", "",
              "| trained on | " + " | ".join(TEST_GROUPS) + " |", "|---" * (len(TEST_GROUPS) + 1) + "|"]
        L += [f"| {r} | " + " | ".join(str(v) for v in row.values()) + " |" for r, row in im["cross"].items()]
        L += ["", "ForgeryNet's own video baselines (authors' slides, AUC %): " +
              "; ".join(f"{k}: " + ", ".join(f"{a} {v}" for a, v in d2.items()) for k, d2 in PAPER_CROSS.items()), ""]
    if rep.get("mask"):
        mk = rep["mask"]
        L += ["## II. Spatial localization (detect-mask)", "",
              "| | " + " | ".join(k for k in mk if k != "per_method") + " |", "|---" * (len([k for k in mk if k != "per_method"]) + 1) + "|",
              "| all | " + " | ".join(str(v) for k, v in mk.items() if k != "per_method") + " |"]
        for mid, row in mk.get("per_method", {}).items():
            L += [f"| method {mid} | " + " | ".join(str(row.get(k, "")) for k in mk if k != "per_method") + " |"]
        L += [""]
    if rep.get("video"):
        v = rep["video"]
        L += ["## III/IV. Video classification and temporal localization (detect-video)", "",
              f"{v['n_videos']} test videos. Video: " + ", ".join(f"{k} {x}" for k, x in v["video"].items()),
              "", "Temporal: " + ", ".join(f"{k} {x}" for k, x in v["temporal"].items()), ""]
        b = v.get("image_detector_baseline")
        if b: L += ["Baseline, detect-small on every frame (mean P(fake) per video; segments from its frame scores): video " +
                    ", ".join(f"{k} {x}" for k, x in b["video"].items() if k in ("auc", "acc", "ap", "frame_auc")) + "; temporal " +
                    ", ".join(f"{k} {x}" for k, x in b["temporal"].items() if k in ("AP@0.5", "AP@0.75", "mAP", "AR@10")), ""]
        tp, bp = v.get("temporal_per_method", {}), (b or {}).get("temporal_per_method", {})
        if tp or bp:
            L += ["Temporal AP per forgery method (fake videos of that method only):", "",
                  "| method id | TSM AP@0.5 | TSM AP@0.75 | TSM mAP | frame-wise AP@0.5 | frame-wise AP@0.75 | frame-wise mAP |", "|---|---|---|---|---|---|---|"]
            for mid in sorted(set(tp) | set(bp), key=int):
                row = [tp.get(mid, {}).get(k, "") for k in ("AP@0.5", "AP@0.75", "mAP")] + [bp.get(mid, {}).get(k, "") for k in ("AP@0.5", "AP@0.75", "mAP")]
                L += [f"| {mid} | " + " | ".join(str(x) for x in row) + " |"]
            L += [""]
    if rep.get("robustness"):
        r = rep["robustness"]
        L += ["## Robustness (detect-small AUC vs perturbation severity)", "", f"{r['n']} test images.", "",
              "| perturbation | " + " | ".join(f"s{s}" for s in r["severities"]) + " |", "|---" * (len(r["severities"]) + 1) + "|"]
        L += [f"| {k} | " + " | ".join(str(a) for a in v) + " |" for k, v in r["auc"].items()] + [""]
    if rep.get("real"):
        L += ["## Real samples (internal only; detect-small as shipped)", ""]
        for k, v in rep["real"].items(): L += [f"- {k}: {json.dumps(v)}"]
        L += [""]
    if rep.get("speed"):
        s = rep["speed"]
        L += ["## Speed", "", "| arch | params | img/s 1 thread | img/s 2 threads |", "|---|---|---|---|"]
        L += [f"| {a} | {r['params']:,} | {r['1 thread']} | {r['2 thread']} |" for a, r in s["images_per_s"].items()]
        L += ["", "Captum on detect-small (128 px, 1 thread), seconds per attribution: " +
              ", ".join(f"{k} {v}" for k, v in s["captum_s_1thread"].items()) + f" (load {s['load']})", ""]
    return "\n".join(L)

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--data", default=None, help="dataset root (default runs/data/forgery, built if missing)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["image", "mask", "video", "robustness", "real", "speed"])
    ap.add_argument("--out", default=str(OUT / "forensics"))
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1 if a.quick else 2)
    root = dataset(a.quick, a.data)
    rep = dict(quick=a.quick, data=str(root), machine=f"{platform.machine()}, {os.cpu_count()} cpus, torch {torch.__version__}")
    steps = dict(image=lambda: image_task(root), mask=lambda: mask_task(root), video=lambda: video_task(root),
                 robustness=lambda: robustness(root, a.quick), real=real_data, speed=lambda: speed(a.quick))
    for k, fn in steps.items():
        if k in a.skip: continue
        t0 = time.perf_counter(); l0 = load1()
        rep[k] = fn()
        rep.setdefault("seconds", {})[k] = dict(s=_f(time.perf_counter() - t0, 1), load=f"{l0}->{load1()}")
        print(f"[{k}] done in {rep['seconds'][k]['s']} s", file=sys.stderr)
    md = markdown(rep)
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(md + "\n"); out.with_suffix(".json").write_text(json.dumps(rep, indent=1) + "\n")
    print(md)
    return 0

if __name__ == "__main__":
    sys.exit(main())
