#!/usr/bin/env python
"""Benchmark of the anime wing (AnimeInterp): quality against the baselines and CPU speed against the official code.

    python benchmarks/anime.py            # full run (tens of minutes on 2 cores), writes benchmarks/results/anime.{md,json}
    python benchmarks/anime.py --quick    # smoke run (< 1 min): fewer triplets, smaller sizes, 1 timing run

Quality: PSNR / SSIM (Whole; Easy / Medium / Hard for the synthetic set) of
  - the shipped model (hub preset `anime-small`; an untrained small AnimeInterp if it is not installed, and the report
    says so) with guide flows computed on the fly: the guide it was trained with (the CLI's default), SGM, and no guide
    (full run only),
  - the same model in its reduced-resolution fast mode (`scale` 0.5, `synthlab interpolate --scale 0.5`) with its trained guide,
  - frame averaging and DIS-flow warping (synthlab.anime.baselines),
on the 36 real Attack-on-Titan triplets (640x360, internal data, only scores are written), the 4 Sintel triplets
(1024x436) and a held-out synthetic set per difficulty level (seeds TEST_SEED_OFFSET + 10^6*level + j of synthlab.anime.train,
disjoint from its training and validation seeds), and the same synthetic scenes painted (`make_triplet(..., texture=0.7)`:
surface paint and film grain, the look of TV frames, with the same ground truth). SSIM is the paper's variant (AnimeInterp's test script:
7x7 uniform window, data_range 2; see synthlab.metrics.ssim_paper), as in the published tables.

Speed: seconds per frame at 960x540 and 1280x720, SGM and network separately, each configuration in a fresh Python
process (median of --runs runs, torch.set_num_threads(--threads)) with its peak memory (VmHWM = ru_maxrss of the process's own address space, which includes
~0.3 GB of Python/torch). The network is the official-size AnimeInterp with weights from the deterministic fill recipe
(../shared/reference/fill_weights.py; random init if absent: the cost does not depend on the values), on two real anime
frames with a constant init flow (3,-2)/(-3,2), as in NOTES.md section 5 (the small preset also at `scale` 0.5 and `rfr_scale` 0.5). SGM runs on the native 1280x720 AoT pair
(resized to 960x540 for the 540p row). The official code's numbers (NOTES.md section 5, the same 2-core machine) are
the reference for the speed-up ratios: network 37.7 s @540p / 74.8 s @720p, SGM 63.2 s (quiet run; 91.8 s median of the
noisy pass) @540p / 165.2 s @720p.

The machine is shared, so every section records the 1-minute load average before and after it.
"""
from __future__ import annotations
import argparse, copy, json, math, os, platform, resource, statistics, subprocess, sys, time, warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SYNTHLAB_SHARED", ROOT.parent / "shared"))
AOT = SHARED / "data" / "anime_aot_sequences"
AOT_SHOTS = ("AoT_S4E16_shot1", "AoT_S4E16_shot2", "AoT_S4E4_shot1", "AoT_S4E4_shot2")
AOT_NATIVE = AOT / "native_1280x720_AoT_S4E4_shot2"
SINTEL = SHARED / "data" / "sintel_raft_demo"
FILL = SHARED / "reference" / "fill_weights.py"
LEVEL_NAMES = ("easy", "medium", "hard")
PAINT = 0.7                         # texture strength of the painted copy of the synthetic set (synthlab.anime.data.add_paint)
TEST_SEED_OFFSET = 20_000_000       # = synthlab.anime.train.TEST_SEED_OFFSET (train 10M+, validation 15M+); used if that module is absent

# the official code on this machine's 2 CPU cores (../shared/reference/animeinterp/NOTES.md, section 5)
OFFICIAL = {
    ("network", "960x540"): dict(seconds=37.7, runs=[38.2, 37.7, 36.7], peak_gb=3.7),
    ("network", "1280x720"): dict(seconds=74.8, runs=[74.8, 74.3, 75.5], peak_gb=6.2),
    ("sgm", "960x540"): dict(seconds=63.2, runs=[125.1, 73.2, 91.8, 63.2], peak_gb=1.2, note="quiet run 63.2 s; noisy-pass median 91.8 s"),
    ("sgm", "1280x720"): dict(seconds=165.2, runs=[165.2, 182.2, 134.8], peak_gb=1.8, note="noisy pass only"),
}

def load1() -> float: return round(os.getloadavg()[0], 2)

def peak_rss_gb() -> float:
    "Peak resident memory of this process: VmHWM of /proc/self/status (ru_maxrss where there is no /proc).\n\n"
    "ru_maxrss survives fork+exec on Linux (a child reports its parent's peak if that was larger), VmHWM belongs to the new\n"
    "address space, so it is the child's own peak."
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"): return int(line.split()[1]) / 2**20     # kB
    except OSError: pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

# ----------------------------------------------------------------------------------------------------------------------
# speed: one configuration per fresh process
# ----------------------------------------------------------------------------------------------------------------------
def _real_pair(size):
    "Two real anime frames (the native 720p AoT pair) resized to `size`, or a synthetic pair if the data is absent."
    import cv2, numpy as np
    W, H = size
    if AOT_NATIVE.is_dir():
        from synthlab.io import read_image
        fs = sorted(AOT_NATIVE.glob("*.png"))
        a, b = read_image(fs[0]), read_image(fs[-1])
        if (a.shape[1], a.shape[0]) != (W, H): a, b = (cv2.resize(x, (W, H), interpolation=cv2.INTER_AREA) for x in (a, b))
        return a, b, "AoT S4E4 shot2 0040/0042"
    from synthlab.anime.data import make_triplet
    T = make_triplet(7, size=(W, H), level=2)
    return T.frame1, T.frame3, "synthetic (seed 7, hard)"

def child(cfg: dict) -> dict:
    "Run one timing configuration in this (fresh) process and return its numbers."
    import numpy as np, torch
    torch.set_num_threads(cfg["threads"])
    W, H = cfg["size"]
    a, b, src = _real_pair((W, H))
    out = dict(cfg, frames=src, runs_s=[])
    if cfg["what"] == "sgm":
        from synthlab.anime.sgm import sgm_flows
        for _ in range(cfg["runs"]):
            t0 = time.perf_counter(); r = sgm_flows(a, b); out["runs_s"].append(time.perf_counter() - t0)
        out.update(segments=[int(r.stats1.n), int(r.stats3.n)], mutual=int(len(r.matches)),
                   breakdown_s={k: round(v, 3) for k, v in r.timings.items()})
    else:
        from synthlab.core import img2tensor
        if cfg["model"] == "official":
            from synthlab.anime.model import anime_interp
            model = anime_interp("official")
            if FILL.exists():
                sys.path.insert(0, str(FILL.parent))
                from fill_weights import fill_module_
                fill_module_(model); out["weights"] = "fill recipe (fill_weights.py)"
            else: out["weights"] = "random init (fill_weights.py not found)"
        else:
            from synthlab.anime.cli import default_model
            with warnings.catch_warnings(record=True): model, info = default_model()
            out["weights"] = info["name"]
            if cfg.get("rfr_scale"): model.rfr_scale = float(cfg["rfr_scale"])
            if cfg.get("scale"): model.scale = float(cfg["scale"])
        model.eval()
        I1, I2 = img2tensor([a, b]).split(1)
        F = torch.empty(1, 2, H, W); F[:, 0], F[:, 1] = 3.0, -2.0
        with torch.inference_mode():
            if cfg.get("warmup"): model(I1, I2, F, -F, 0.5)
            for _ in range(cfg["runs"]):
                t0 = time.perf_counter(); model(I1, I2, F, -F, 0.5); out["runs_s"].append(time.perf_counter() - t0)
        out["n_params"] = sum(p.numel() for p in model.parameters())
    out["median_s"] = statistics.median(out["runs_s"])
    out["peak_rss_gb"] = peak_rss_gb()
    return out

def run_child(cfg: dict, timeout: float) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(cfg["threads"]), "PYTHONWARNINGS": "ignore"}
    l0, t0 = load1(), time.perf_counter()
    r = subprocess.run([sys.executable, __file__, "--_child", json.dumps(cfg)], capture_output=True, text=True, timeout=timeout, env=env)
    if r.returncode != 0: raise RuntimeError(f"timing child {cfg} failed:\n{r.stderr[-3000:]}")
    res = json.loads(r.stdout.strip().splitlines()[-1])
    res.update(load_before=l0, load_after=load1(), wall_s=round(time.perf_counter() - t0, 1))
    return res

def speed(quick: bool, runs: int, threads: list) -> list:
    if quick:
        sizes = {"960x540": (320, 180), "1280x720": (448, 256)}   # stand-ins, so that the smoke run stays short
        cfgs = [dict(what="network", model="official", label="960x540"), dict(what="network", model="preset", label="960x540"),
                dict(what="sgm", label="960x540")]
    else:
        sizes = {"960x540": (960, 540), "1280x720": (1280, 720)}
        cfgs = [dict(what="sgm", label="960x540"), dict(what="sgm", label="1280x720"),
                dict(what="network", model="preset", label="960x540", warmup=True), dict(what="network", model="preset", label="1280x720", warmup=True),
                dict(what="network", model="preset", label="960x540", warmup=True, rfr_scale=0.5),
                dict(what="network", model="preset", label="960x540", warmup=True, scale=0.5),
                dict(what="network", model="official", label="960x540"), dict(what="network", model="official", label="1280x720")]
    rows = []
    for c0 in cfgs:
      for th in threads:
        c = dict(c0, size=list(sizes[c0["label"]]), runs=1 if quick else runs, threads=th)
        print(f"timing {c['what']} {c.get('model', '')} at {c['size'][0]}x{c['size'][1]}, {th} thread(s), {c['runs']} run(s) ...", file=sys.stderr, flush=True)
        r = run_child(c, timeout=3600)
        ref = OFFICIAL.get((c["what"], c["label"])) if c["what"] == "sgm" or c.get("model") == "official" else None
        if ref and not quick:
            r.update(official_s=ref["seconds"], speedup=ref["seconds"] / r["median_s"], official_peak_gb=ref["peak_gb"], official_note=ref.get("note", ""))
        rows.append(r)
    return rows

# ----------------------------------------------------------------------------------------------------------------------
# quality
# ----------------------------------------------------------------------------------------------------------------------
def _scaled(triplets, scale: float):
    if scale == 1: return triplets
    import cv2
    from synthlab.anime.data import Triplet
    out = []
    for T in triplets:
        H, W = T.frame1.shape[:2]
        w, h = int(round(W * scale)), int(round(H * scale))
        fr = [cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA) for f in T.frames]
        out.append(Triplet(*fr, name=T.name, meta=T.meta))
    return out

def held_out_seeds(level: int, n: int) -> list[int]:
    "Synthetic test seeds, disjoint from training and validation: synthlab.anime.train's scheme, TEST_SEED_OFFSET + 10^6 * level + j."
    try: from synthlab.anime.train import TEST_SEED_OFFSET as base
    except ImportError: base = TEST_SEED_OFFSET
    return [int(base) + 1_000_000 * level + j for j in range(n)]

def datasets(quick: bool) -> dict:
    from synthlab.anime.data import triplets_from_sequence, make_triplet
    out = {}
    if all((AOT / s).is_dir() for s in AOT_SHOTS):
        ts = [T for s in AOT_SHOTS for T in triplets_from_sequence(AOT / s)]
        if quick: ts = _scaled(ts[::18][:2], 0.5)
        out["aot"] = dict(title="Attack on Titan, real anime triplets", triplets=ts)
    else: out["aot"] = dict(title="Attack on Titan, real anime triplets", missing=str(AOT))
    if SINTEL.is_dir():
        ts = triplets_from_sequence(SINTEL)
        if quick: ts = _scaled(ts[:1], 0.5)
        out["sintel"] = dict(title="Sintel (CC-BY), CG triplets", triplets=ts)
    else: out["sintel"] = dict(title="Sintel (CC-BY), CG triplets", missing=str(SINTEL))
    size, n = ((256, 160), 1) if quick else ((448, 256), 8)
    seeds = {lv: held_out_seeds(lv, n) for lv in range(3)}
    ts = [make_triplet(s, size=size, level=lv) for lv in range(3) for s in seeds[lv]]
    out["synthetic"] = dict(title=f"synthetic held-out set, {n} per level", triplets=ts, seeds=seeds, levels=True)
    ts = [make_triplet(s, size=size, level=lv, texture=PAINT) for lv in range(3) for s in seeds[lv]]
    out["painted"] = dict(title=f"the same held-out scenes painted (texture {PAINT}: surface paint + grain), {n} per level",
                          triplets=ts, seeds=seeds, levels=True)
    return out

def quality(quick: bool) -> tuple[dict, dict]:
    from synthlab.anime.baselines import AverageInterpolator, DISInterpolator
    from synthlab.anime.cli import default_model, AnimeInterpolator
    from synthlab.anime.evaluate import evaluate_many
    with warnings.catch_warnings(record=True): model, info = default_model()
    name = "anime-small" if info["trained"] else "AnimeInterp-small (untrained)"
    own = info["guide"] or "sgm"                                     # the guide the model was trained with = the CLI's default
    interps = {"Average": AverageInterpolator(), "DIS": DISInterpolator(), f"{name} + {own.upper()} guide": AnimeInterpolator(model, own)}
    if own != "sgm": interps[f"{name} + SGM guide"] = AnimeInterpolator(model, "sgm")
    if not quick: interps[f"{name}, no guide"] = AnimeInterpolator(model, "zero")
    fast = copy.deepcopy(model); fast.scale = 0.5                    # the reduced-resolution fast mode (--scale 0.5)
    interps[f"{name} + {own.upper()} guide, scale 0.5"] = AnimeInterpolator(fast, own)
    res = {}
    for key, d in datasets(quick).items():
        if "missing" in d:
            res[key] = dict(title=d["title"], skipped=f"data not found at {d['missing']}"); continue
        l0, t0 = load1(), time.perf_counter()
        print(f"quality: {d['title']} ({len(d['triplets'])} triplets) ...", file=sys.stderr, flush=True)
        comp = evaluate_many(interps, d["triplets"], ssim_variant="paper", progress=not quick)
        H, W = d["triplets"][0].frame1.shape[:2]
        rows = {}
        for m, r in comp.items():
            sm = r.summary()
            rows[m] = {g: dict(PSNR=round(v["PSNR"], 3), SSIM=round(v["SSIM"], 4), n=v["n"]) for g, v in sm.items()
                       if g in ("Whole", "Easy", "Medium", "Hard") and isinstance(v, dict)}
            rows[m]["seconds"] = round(r.seconds, 2)
            rows[m]["wins_vs_DIS"] = None
        dis = comp["DIS"].values("psnr")
        for m, r in comp.items():
            if m != "DIS": rows[m]["wins_vs_DIS"] = int((r.values("psnr") > dis).sum())
        res[key] = dict(title=d["title"], n=len(d["triplets"]), size=f"{W}x{H}", rows=rows, levels=bool(d.get("levels")),
                        load_before=l0, load_after=load1(), wall_s=round(time.perf_counter() - t0, 1))
        if "seeds" in d: res[key]["seeds"] = d["seeds"]
    return res, dict(model=name, trained=info["trained"], guide=own, card=None if info["card"] is None else info["card"].to_dict())

# ----------------------------------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------------------------------
def _cell(v): return "–" if v is None or not v.get("n", 1) else f"{v['PSNR']:.2f} / {v['SSIM']:.3f}"

def markdown(rep: dict) -> str:
    m = rep["meta"]
    L = [f"# AnimeInterp benchmark{' (quick smoke run)' if m['quick'] else ''}", "",
         f"Written by `python benchmarks/anime.py{' --quick' if m['quick'] else ''}` on {m['date']} · {m['cpu']} · "
         f"{m['cpus']} CPUs · torch {m['torch']}, threads {', '.join(map(str, m['threads']))} · 1-min load average {m['load_start']} at the "
         f"start, {m['load_end']} at the end (the machine is shared: timings under load are slower than on a quiet machine).", ""]
    q = rep.get("quality")
    if q:
        card = m.get("card") or {}
        L += ["## Quality", "", f"Model: **{m['model']}**" + (f" (trained with {m['guide'].upper()} guide flows; card created {card.get('created', '?')}, "
              f"sha256 {card.get('sha256', '?')[:12]}…)" if m["trained"] else
              " — the preset `anime-small` is not installed, so these are **untrained random weights** (a plumbing check, not a result)") + ".",
              "PSNR (dB) / SSIM (paper variant). The model computes its guide flows on the fly (the row names the guide; its "
              "trained guide is what `synthlab interpolate` uses by default). *wins* = triplets where the method beats DIS on PSNR.", ""]
        for key, d in q.items():
            if "skipped" in d: L += [f"### {d['title']}", "", f"skipped: {d['skipped']}", ""]; continue
            cols = ["Whole"] + (["Easy", "Medium", "Hard"] if d["levels"] else [])
            L += [f"### {d['title']} ({d['n']} triplets, {d['size']})", "",
                  "| method | " + " | ".join(cols) + " | wins vs DIS | seconds |", "|---|" + "---|" * (len(cols) + 2)]
            for meth, r in d["rows"].items():
                wins = "–" if r["wins_vs_DIS"] is None else f"{r['wins_vs_DIS']}/{d['n']}"
                L.append(f"| {meth} | " + " | ".join(_cell(r.get(c)) for c in cols) + f" | {wins} | {r['seconds']:.1f} |")
            if "seeds" in d:
                seeds = "; ".join(f"{LEVEL_NAMES[int(k)]} {v}" for k, v in sorted(d["seeds"].items(), key=lambda kv: int(kv[0])))
                L.append(f"\nheld-out seeds (synthlab.anime.train's test range, never trained or validated on): {seeds}")
            L += ["", f"load average {d['load_before']} → {d['load_after']}, {d['wall_s']} s", ""]
    s = rep.get("speed")
    if s:
        L += ["## Speed (seconds per frame, CPU)", "",
              "Each row is a fresh process (median of the runs; peak RSS includes ~0.3 GB of Python/torch). Official = the authors' "
              "code on this machine (NOTES.md §5); speed-up = official / ours." + (" Quick run: small stand-in sizes, no ratios." if m["quick"] else ""), "",
              "| what | weights | size | threads | runs (s) | median (s) | peak RSS (GB) | official (s) | speed-up | official peak (GB) | load |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in s:
            what = "SGM (segment + match + guide)" if r["what"] == "sgm" else f"network ({'official size' if r['model'] == 'official' else 'small preset'}{', rfr_scale ' + str(r['rfr_scale']) if r.get('rfr_scale') else ''}{', scale ' + str(r['scale']) if r.get('scale') else ''})"
            wts = r.get("weights", "–") if r["what"] == "network" else "no weights (handcrafted descriptors)"
            sp = f"{r['speedup']:.1f}x" if "speedup" in r else "–"
            runs = ", ".join(f"{x:.2f}" for x in r["runs_s"])
            L.append(f"| {what} | {wts} | {r['size'][0]}x{r['size'][1]} | {r['threads']} | {runs} | **{r['median_s']:.2f}** | {r['peak_rss_gb']:.2f} | "
                     f"{r.get('official_s', '–')} | {sp} | {r.get('official_peak_gb', '–')} | {r['load_before']}→{r['load_after']} |")
        best = lambda rows: {tuple(r["size"]): r for r in sorted(rows, key=lambda r: -r["median_s"])}   # fastest thread count wins
        sg = best([r for r in s if r["what"] == "sgm"])
        pre = best([r for r in s if r["what"] == "network" and r["model"] == "preset" and not r.get("rfr_scale") and not r.get("scale")])
        approx = best([r for r in s if r["what"] == "network" and r["model"] == "preset" and r.get("rfr_scale")])
        reduced = best([r for r in s if r["what"] == "network" and r["model"] == "preset" and r.get("scale")])
        both = [k for k in pre if k in sg]
        if both:
            L += ["", "Small preset per in-between (fastest thread count): " + "; ".join(f"{k[0]}x{k[1]}: fast mode (no SGM) {pre[k]['median_s']:.2f} s, "
                  f"full mode (SGM + network) {sg[k]['median_s'] + pre[k]['median_s']:.2f} s" for k in both) + "."]
        for k, r in approx.items():
            L.append(f"\nApproximate fast mode (`--rfr-scale {r['rfr_scale']}`: flow refinement at {r['rfr_scale']} of the frame size, "
                     f"outputs differ from the trained network's) at {k[0]}x{k[1]}: {r['median_s']:.2f} s per in-between.")
        for k, r in reduced.items():
            L.append(f"\nReduced-resolution fast mode (`--scale {r['scale']}`: the whole network at {r['scale']} of the frame size, "
                     f"its frame upsampled plus the full-size frames' splatted detail) at {k[0]}x{k[1]}: {r['median_s']:.2f} s per in-between"
                     + (f" ({r['median_s'] / pre[k]['median_s']:.2f}x the full-size network)." if k in pre else "."))
            if k in sg:
                L.append(f"Full SGM mode with `--scale {r['scale']}` at {k[0]}x{k[1]} (SGM on the full-size frames, then the reduced network): "
                         f"{sg[k]['median_s']:.2f} + {r['median_s']:.2f} = {sg[k]['median_s'] + r['median_s']:.2f} s per in-between.")
        for r in sg.values():
            L.append(f"\nSGM at {r['size'][0]}x{r['size'][1]} on {r['frames']}: {r['segments'][0]}/{r['segments'][1]} segments, "
                     f"{r['mutual']} mutual matches; last run's breakdown (s): " + ", ".join(f"{k} {v}" for k, v in r["breakdown_s"].items()))
    return "\n".join(L) + "\n"

def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smoke run: few triplets, small sizes, 1 timing run (< 1 min)")
    p.add_argument("--out", default=None, help="output path without suffix; writes OUT.md and OUT.json (default benchmarks/results/anime[_quick])")
    p.add_argument("--runs", type=int, default=3, help="timing runs per configuration (default 3)")
    p.add_argument("--threads", default=None, help="torch threads; a comma list (e.g. 1,2) times every configuration with each "
                   "(default 2, as the official timings; --quick: 1)")
    p.add_argument("--skip", choices=["quality", "speed"], action="append", default=[], help="leave a section out")
    p.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a._child:
        print(json.dumps(child(json.loads(a._child)))); return 0
    import torch
    try: threads = [int(x) for x in (a.threads or ("1" if a.quick else "2")).split(",")]
    except ValueError: p.error(f"--threads must be integers separated by commas; got {a.threads!r}")
    if not threads or min(threads) < 1: p.error("--threads must be >= 1")
    torch.set_num_threads(threads[0])
    out = Path(a.out) if a.out else ROOT / "benchmarks" / "results" / ("anime_quick" if a.quick else "anime")
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    rep = dict(meta=dict(date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), quick=a.quick, cpu=cpu, cpus=os.cpu_count(),
                         torch=torch.__version__, threads=threads, runs=a.runs, load_start=load1(), python=platform.python_version()))
    if "quality" not in a.skip:
        rep["quality"], info = quality(a.quick)
        rep["meta"].update(model=info["model"], trained=info["trained"], guide=info["guide"], card=info["card"])
    else: rep["meta"].update(model="–", trained=True, card=None)
    if "speed" not in a.skip: rep["speed"] = speed(a.quick, a.runs, threads)
    rep["meta"].update(load_end=load1(), total_s=round(time.perf_counter() - t0, 1))
    md = markdown(rep)
    out.with_suffix(".json").write_text(json.dumps(rep, indent=1, default=str) + "\n")
    out.with_suffix(".md").write_text(md)
    print(md)
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')} in {rep['meta']['total_s']} s", file=sys.stderr)
    return 0

if __name__ == "__main__":
    sys.exit(main())
