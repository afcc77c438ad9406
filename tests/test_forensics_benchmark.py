"""`benchmarks/forensics.py --quick` runs end to end on a tiny dataset with the shipped presets and writes every table it promises."""
import json, os, subprocess, sys, time
from pathlib import Path
import pytest
from synthlab import hub

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "forensics.py"
PRESETS = ("detect-small", "detect-replaced", "detect-remained", "detect-mask", "detect-video")

def test_quick_benchmark_writes_tables(tmp_path):
    missing = [p for p in PRESETS if p not in hub.list_presets().names]
    assert not missing, f"shipped presets missing: {missing}"
    out = tmp_path / "res" / "forensics"
    t0 = time.time()
    r = subprocess.run([sys.executable, str(BENCH), "--quick", "--out", str(out)], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "PYTHONWARNINGS": "ignore"})
    secs = time.time() - t0
    assert r.returncode == 0, r.stderr[-4000:]
    assert secs < 240, f"--quick took {secs:.0f}s"
    md, rep = out.with_suffix(".md").read_text(), json.loads(out.with_suffix(".json").read_text())
    assert md.strip() in r.stdout                                                   # the tables are also printed
    im = rep["image"]
    assert set(im["cross"]) == {"all methods", "ID-replaced", "ID-remained"}
    for row in im["cross"].values():
        assert set(row) == {"ID-replaced", "ID-remained", "talk wing (unseen)"}
        assert all(v is None or 0 <= v <= 1 for v in row.values())
    d = im["detect-small"]
    assert 0 <= d["intra_auc"] <= 1 and 0 <= d["eer"] <= 1 and 7 in {int(k) for k in d["per_method_auc"]}
    assert {"l1", "IoU@0.1", "IoU@0.2"} <= set(rep["mask"]) and 0 <= rep["mask"]["IoU@0.1"] <= 1
    assert set(rep["video"]["temporal"]) >= {"AP@0.5", "mAP"} and "auc" in rep["video"]["video"]
    # temporal AP per method (issue 5), for the TSM model and the frame-wise baseline, over the fake videos' methods
    fake_methods = {int(m) for m in rep["video"]["temporal_per_method"]}
    assert fake_methods and fake_methods == {int(m) for m in rep["video"]["image_detector_baseline"]["temporal_per_method"]}
    assert all(0 <= ap["AP@0.5"] <= 1 for ap in rep["video"]["temporal_per_method"].values())
    assert "Temporal AP per forgery method" in md
    rob = rep["robustness"]
    assert len(rob["auc"]) == 10 and all(len(v) == len(rob["severities"]) for v in rob["auc"].values())
    assert len({v[0] for v in rob["auc"].values()}) == 1                          # severity 0 is the same clean AUC everywhere
    sp = rep["speed"]
    assert set(sp["images_per_s"]) == {"xception", "resnet18", "mobilenet", "f3net", "small"}
    assert set(sp["captum_s_1thread"]) == {"ig", "saliency", "gradcam", "occlusion", "smoothgrad"}
    assert sp["images_per_s"]["small"]["1 thread"] > sp["images_per_s"]["xception"]["1 thread"]   # the shipped net is the fast one
