#!/usr/bin/env python
"""Benchmark of the talking-face wing (PC-AVS): quality on held-out synthetic identities, the probe matrix, speed.

    python benchmarks/talk.py            # full run (a few minutes on 2 cores), writes benchmarks/results/talk.{md,json}
    python benchmarks/talk.py --quick    # smoke run (< 1 min)

Quality, on clips of TEST identities (synthlab.talk.data: never trained on), in the reconstruction setting (identity =
the clip's first frame, pose source = the clip's own frames, audio = the clip's own speech): SSIM, CPBD, mouth LMD
(landmarks of the generated frames by the shipped `talk-landmarks` net, against the renderer's true landmarks, px at
128) and the sync offset/confidence of the shipped `talk-sync` expert (SyncNet's protocol), for
  - the shipped `talk-small` preset,
  - a static baseline (the identity frame repeated),
  - an audio-free ablation (the same model hearing silence: all mel windows at the silence level),
  - the ground truth itself (the floor of LMD: the landmark net's own error; the sync expert's score on real sync).
Probe matrix: identity / speech / pose codes of held-out frames against identity id, yaw, pitch, roll and viseme
(linear probes on 30 TEST identities x 3 clips, grouped 5-fold by clip, mean ± std over 3 fold assignments:
synthlab.talk.evaluate.probe_matrix).
Speed (each configuration in a fresh process, benchmarks/talk_speed.py): the official-size network with the
fill-recipe weights, official recipe (V + A + 2E + 2G per frame) vs synthlab (identity once, one G pass per frame),
with their outputs compared; the small preset's frames per second, batched. The official code's own number
(NOTES.md §6: 3.31 s per frame, 1 thread) is the reference.
The machine is shared: every section records the 1-minute load average.
"""
from __future__ import annotations
import argparse, json, os, platform, subprocess, sys, time, zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SYNTHLAB_SHARED", ROOT.parent / "shared"))
OUT = ROOT / "benchmarks" / "results"
OFFICIAL_STEP_S = 3.31      # NOTES.md §6: full official step (V + A_sync + 2E + 2G), 1 thread, batch 1
OFFICIAL_G_S = 1.47         # one generator pass

def load1() -> float: return round(os.getloadavg()[0], 2)

def speed(quick: bool) -> list:
    rows = []
    child = ROOT / "benchmarks" / "talk_speed.py"
    frames = 2 if quick else 4
    cfgs = [dict(model="official", recipe=r, frames=frames, batch=1, threads=1, shared=str(SHARED), save=f"/tmp/talk_speed_{r}.pt")
            for r in ("official", "synthlab")]
    cfgs += [dict(model="talk-small", recipe="synthlab", frames=64 if quick else 256, batch=b, threads=t, shared=str(SHARED))
             for b in (16, 32) for t in (1, 2)]
    for cfg in cfgs:
        if cfg["model"] == "official" and not (SHARED / "reference" / "pcavs" / "pcavs_reference.npz").exists(): continue
        l0 = load1()
        p = subprocess.run([sys.executable, str(child), json.dumps(cfg)], capture_output=True, text=True, timeout=1800,
                           env={**os.environ, "OMP_NUM_THREADS": str(cfg["threads"])})
        line = [l for l in p.stdout.splitlines() if l.startswith("RESULT ")]
        if not line: rows.append(dict(cfg, error=p.stderr[-500:])); continue
        r = json.loads(line[0][7:]); r["load"] = f"{l0}→{load1()}"; rows.append(r)
    import torch
    a, b = Path("/tmp/talk_speed_official.pt"), Path("/tmp/talk_speed_synthlab.pt")
    if a.exists() and b.exists():
        d = (torch.load(a) - torch.load(b)).abs().max().item()
        for r in rows:
            if r.get("model") == "official": r["max_abs_diff_vs_official_recipe"] = d
    return rows

def _model_fn(model, silent: bool = False, name: str = "talk-small"):
    import numpy as np, torch
    from synthlab.talk.audio import melspectrogram, mel_windows
    def fn(identity_frame, audio, pose_frames):
        T = len(pose_frames)
        mels = mel_windows(melspectrogram(audio), list(range(T)), pad="silence")
        if silent: mels = np.zeros_like(mels)
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float() / 127.5 - 1
        out = model.animate(t(identity_frame[None]), torch.from_numpy(mels), t(pose_frames), batch=16, noise="buffers")
        return ((out.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    fn.__name__ = name
    return fn

def quality(quick: bool) -> dict:
    import numpy as np, torch
    torch.set_num_threads(1)
    from synthlab.hub import load, card
    from synthlab.talk.evaluate import heldout_clips, evaluate_clips, static_baseline, copy_pose_baseline, compare_methods
    model = load("talk-small")
    lm_net, sync_net = load("talk-landmarks"), load("talk-sync")
    clips = heldout_clips(2 if quick else 8, n_frames=50 if quick else 100)
    methods = [(_model_fn(model), "talk-small"), (static_baseline, "static identity frame"),
               (_model_fn(model, silent=True, name="talk-small, audio-free"), "talk-small, audio-free (hears silence)"),
               (copy_pose_baseline, "ground truth (floor)")]
    res = []
    for fn, name in methods:
        l0, t0 = load1(), time.time()
        r = evaluate_clips(fn, clips, lm_net, sync_net, name=name, frame_stride=5)
        res.append(r)
        print(f"  {name}: {r.mean} ({time.time() - t0:.0f} s, load {l0}→{load1()})", flush=True)
    return dict(table=compare_methods(res), means={r.name: r.mean for r in res}, n_clips=len(clips),
                n_frames=len(clips[0].frames), card=card("talk-small").to_dict() if hasattr(card("talk-small"), "to_dict") else {},
                ids=[int(c.identity.id) for c in clips])

def probes(quick: bool) -> dict:
    import numpy as np, torch
    from synthlab.hub import load
    from synthlab.talk.data import make_clip, split_ids
    from synthlab.talk.audio import melspectrogram, mel_windows
    from synthlab.talk.evaluate import probe_matrix
    model = load("talk-small")
    codes, facs, groups = {"identity": [], "speech": [], "pose": []}, {"identity": [], "yaw": [], "pitch": [], "roll": [], "viseme": []}, []
    n_ids, per = (4, 2) if quick else (30, 3)     # 30 identities: with 10, one split's leak cells swung by ± 0.5 or more
    g = 0
    for i in split_ids("test", n_ids):
        for k in range(per):
            c = make_clip(zlib.crc32(f"probe/{i}/{k}".encode()), 40, 128, identity=i)
            x = torch.from_numpy(c.frames).permute(0, 3, 1, 2).float() / 127.5 - 1
            mels = torch.from_numpy(mel_windows(melspectrogram(c.audio), list(range(len(c.frames))), pad="silence"))
            with torch.no_grad():
                codes["identity"].append(model.encode_identity(x).vec)
                codes["speech"].append(model.encode_speech(mels)[1])
                codes["pose"].append(model.encode_pose(x))
            T = len(c.frames)
            facs["identity"].append(np.full(T, i)); facs["viseme"].append(c.viseme)
            for j, n in enumerate(("yaw", "pitch", "roll")): facs[n].append(c.pose[:, j])
            groups.append(np.full(T, g)); g += 1
    C = {k: torch.cat(v).numpy() for k, v in codes.items()}
    F = {k: np.concatenate(v) for k, v in facs.items()}
    table = probe_matrix(C, F, groups=np.concatenate(groups), categorical=["identity", "viseme"], folds=5, repeats=3)
    return dict(markdown=table.to_markdown(), scores=table.to_dict(), n=int(len(F["yaw"])), protocol=table.protocol, n_ids=n_ids)

def demo(quick: bool) -> dict:
    "The CLI on the real PC-AVS demo inputs (CC BY 4.0): identity frame + the first seconds of the demo speech."
    face = SHARED / "data" / "pcavs_demo" / "Input" / "517600055" / "000000.jpg"
    audio = SHARED / "data" / "pcavs_demo" / "Audio_Source" / "681600002.mp3"
    pose = SHARED / "data" / "pcavs_demo" / "Pose_Source" / "517600078"
    if not face.exists(): return dict(missing=str(face))
    out = Path("/tmp/talk_demo.mp4")
    cmd = ["synthlab", "talk", "--face", str(face), "--audio", str(audio), "--pose", str(pose), "-o", str(out), "--force",
           "--side-by-side", "--max-seconds", "2" if quick else "4", "--json", "--no-progress", "--threads", "1"]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    res = dict(cmd=" ".join(cmd[1:]), rc=p.returncode, wall_s=round(time.time() - t0, 1), stderr_tail=p.stderr[-400:])
    try: res.update(json.loads(p.stdout.strip().splitlines()[-1]))
    except Exception: res["stdout"] = p.stdout[-400:]
    if p.returncode == 0:   # a strip of 4 frames for the report
        import av, numpy as np
        from PIL import Image
        with av.open(str(out)) as c: fr = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        pick = [fr[i] for i in np.linspace(0, len(fr) - 1, 4).astype(int)]
        OUT.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate(pick, 0)).save(OUT / "talk_demo.png")
        res["strip"] = "benchmarks/results/talk_demo.png"
    return res

OWN = {"identity": ["identity"], "speech": ["viseme"], "pose": ["yaw", "pitch", "roll"]}

def probe_targets(t: dict) -> str:
    "The probe targets in one line: each code's own factor(s) against 0.9, and the largest other cell above chance."
    sc, ch = t["scores"], t["chance"]
    own = "; ".join(f"{c} → {f} {sc[c][f]:.3f}" for c, fs in OWN.items() for f in fs)
    ok = all(sc[c][f] >= 0.9 for c, fs in OWN.items() for f in fs)
    off = [((sc[c][f] - ch[f]) / max(1 - ch[f], 1e-9), c, f) for c in OWN for f in ch if f not in OWN[c]]
    worst = sorted(off, reverse=True)[:3]
    return (f"Targets: own factor ≥ 0.9: {own} ({'all met' if ok else 'not all met'}). Largest other cells, as (score − chance) / "
            f"(1 − chance), 0 = chance: " + ", ".join(f"{c} → {f} {v:.2f}" for v, c, f in worst) + ".")

def markdown(rep: dict) -> str:
    L = [f"# PC-AVS benchmark\n\nWritten by `python benchmarks/talk.py{' --quick' if rep['quick'] else ''}` on {rep['when']} · "
         f"{rep['machine']} · torch {rep['torch']}. Load averages are recorded per section (the machine is shared).\n"]
    q = rep.get("quality")
    if q:
        L += [f"## Held-out synthetic identities ({q['n_clips']} clips × {q['n_frames']} frames, TEST ids {q['ids']})\n",
              "Reconstruction setting: identity = the clip's first frame, pose source = the clip's frames, audio = the clip's speech. "
              "LMD: mouth landmarks (dlib-68 indices 48–67) predicted by `talk-landmarks` on the generated frames vs the renderer's "
              "true landmarks, px at 128². Sync: the `talk-sync` expert (SyncNet protocol, offsets ±15 frames).\n", q["table"], ""]
        m = q["means"]
        try:
            model, static, silent = m["talk-small"], m["static identity frame"], m["talk-small, audio-free (hears silence)"]
            L.append(f"Targets: mouth LMD {model['lmd']:.2f} px vs static {static['lmd']:.2f} px → ratio {model['lmd'] / static['lmd']:.2f} "
                     f"(target ≤ 0.5); sync confidence {model['sync_conf']:.2f} vs audio-free {silent['sync_conf']:.2f}.\n")
        except KeyError: pass
    p = rep.get("probes")
    if p:
        L += [f"## Probe matrix ({p['n']} held-out frames, {p.get('protocol', 'split by clip')})\n", p["markdown"], ""]
        try: L.append(probe_targets(p["scores"]) + "\n")
        except KeyError: pass
    s = rep.get("speed")
    if s:
        L += ["## Speed (seconds per frame, CPU, fresh process each)\n",
              "| model | recipe | batch | threads | frames | s / frame | fps | peak RSS (GB) | vs official code (3.31 s) | load |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in s:
            if "error" in r: L.append(f"| {r['model']} | {r['recipe']} | {r['batch']} | {r['threads']} | – | error | | | | |"); continue
            ratio = f"{OFFICIAL_STEP_S / r['per_frame']:.1f}x" if r["model"] == "official" else "–"
            L.append(f"| {r['model']} | {r['recipe']} | {r['batch']} | {r['threads']} | {r['frames']} | {r['per_frame']:.3f} | {r['fps']:.1f} | "
                     f"{r['peak_gb']} | {ratio} | {r['load']} |")
        off = {r["recipe"]: r for r in s if r.get("model") == "official" and "error" not in r}
        if len(off) == 2:
            L.append(f"\nSame weights, same inputs: the official recipe's pose-driven output and synthlab's differ by at most "
                     f"{off['official'].get('max_abs_diff_vs_official_recipe', float('nan')):.2e}. Ratio measured in this run: "
                     f"{off['official']['per_frame'] / off['synthlab']['per_frame']:.2f}x fewer seconds per frame.\n")
    d = rep.get("demo")
    if d:
        L += ["## Real demo inputs (PC-AVS demo, CC BY 4.0: Zhou et al., Hangz-nju-cuhk/Talking-Face_PC-AVS)\n",
              f"`synthlab {d.get('cmd', '')}` → exit {d.get('rc')}, {d.get('frames', '?')} frames in {d.get('wall_s')} s wall.",
              f"![demo strip]({Path(d['strip']).name})" if d.get("strip") else "", ""]
    return "\n".join(L)

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--skip", nargs="*", default=[], choices=["quality", "probes", "speed", "demo"])
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args(argv)
    import torch
    rep = dict(quick=a.quick, when=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), torch=torch.__version__,
               machine=f"{platform.processor() or platform.machine()} · {os.cpu_count()} CPUs")
    for name, fn in (("quality", quality), ("probes", probes), ("speed", speed), ("demo", demo)):
        if name in a.skip: continue
        print(f"[{name}] load {load1()}", flush=True)
        rep[name] = fn(a.quick)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    stem = "talk_quick" if a.quick else "talk"
    (out / f"{stem}.json").write_text(json.dumps(rep, indent=1, default=str))
    md = markdown(rep)
    (out / f"{stem}.md").write_text(md)
    print(md)
    return 0

if __name__ == "__main__":
    sys.exit(main())
