"""`benchmarks/anime.py --quick` runs end to end in under a minute and writes the tables it promises."""
import json, os, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks" / "anime.py"
SHARED = Path(os.environ.get("SYNTHLAB_SHARED", ROOT.parent / "shared"))

def test_quick_benchmark_writes_tables(tmp_path):
    out = tmp_path / "res" / "anime"
    t0 = time.time()
    r = subprocess.run([sys.executable, str(BENCH), "--quick", "--out", str(out)], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "PYTHONWARNINGS": "ignore"})
    secs = time.time() - t0
    assert r.returncode == 0, r.stderr[-4000:]
    assert secs < 60, f"--quick took {secs:.0f}s"
    md, rep = out.with_suffix(".md").read_text(), json.loads(out.with_suffix(".json").read_text())
    assert md.strip() in r.stdout                                               # the table is also printed

    # quality: every dataset that exists has the three methods; the synthetic set is split by level
    q = rep["quality"]
    assert set(q) == {"aot", "sintel", "synthetic", "painted"}
    syn, pnt = q["synthetic"], q["painted"]
    assert pnt["seeds"] == syn["seeds"] and pnt["levels"] and pnt["n"] == syn["n"] and set(pnt["rows"]) == set(syn["rows"])
    methods = list(syn["rows"])
    assert methods[:2] == ["Average", "DIS"] and methods[2].endswith(" guide") and any("+ SGM guide" in m for m in methods)
    for m in methods:
        assert set(syn["rows"][m]) >= {"Whole", "Easy", "Medium", "Hard"}
        assert sum(syn["rows"][m][g]["n"] for g in ("Easy", "Medium", "Hard")) == syn["rows"][m]["Whole"]["n"] == syn["n"]
        for g in ("Whole", "Easy", "Medium", "Hard"):
            assert 0 < syn["rows"][m][g]["PSNR"] < 100 and 0 < syn["rows"][m][g]["SSIM"] <= 1
    assert syn["rows"]["DIS"]["Hard"]["PSNR"] < syn["rows"]["DIS"]["Easy"]["PSNR"] + 5   # sane numbers, not garbage
    for key, folder in (("aot", SHARED / "data" / "anime_aot_sequences"), ("sintel", SHARED / "data" / "sintel_raft_demo")):
        if folder.is_dir():
            assert set(q[key]["rows"]) == set(methods) and q[key]["n"] >= 1, q[key]
        else: assert "skipped" in q[key]
    for title in ["## Quality", "| Average |", "| DIS |", "Easy | Medium | Hard", "## Speed", "painted (texture 0.7"]:
        assert title in md, title

    # speed: SGM and network rows, each measured in its own process with its own peak memory
    s = rep["speed"]
    kinds = {(x["what"], x.get("model")) for x in s}
    assert {("sgm", None), ("network", "official"), ("network", "preset")} <= kinds
    for x in s:
        assert x["median_s"] > 0 and 0.05 < x["peak_rss_gb"] < 16 and len(x["runs_s"]) == 1
    assert len({x["peak_rss_gb"] for x in s}) > 1, "peak memory must be each child's own, not inherited"
    assert "SGM (segment + match + guide)" in md and "network (official size)" in md
    assert rep["meta"]["quick"] is True and "load_start" in rep["meta"]

def test_bad_threads_flag_is_an_argparse_error(tmp_path):
    r = subprocess.run([sys.executable, str(BENCH), "--quick", "--threads", "two", "--out", str(tmp_path / "x")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--threads must be integers" in r.stderr and not (tmp_path / "x.md").exists()
