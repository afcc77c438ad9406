"""Speed children for benchmarks/talk.py: each configuration runs in a fresh process (`python talk_speed.py JSON`).

Official size: weights from ../shared/reference/fill_weights.py (random init if absent: the cost does not depend on
the values), the fixture's identity frame, pose frames and mel windows tiled to `frames` frames.
  - recipe "official": what the official inference does per frame: V(identity) + A_sync + E(identity) + E(pose) and
    two generator passes (the ref-pose and the pose-driven output), batch `batch`;
  - recipe "synthlab": `PCAVS.animate`: the identity encoded once per clip, A_sync + E(pose) + one generator pass per
    frame; its output is checked against the official recipe's driven output (same noise buffers).
Small preset: the shipped `talk-small` (`PCAVS.animate`, identity pose) on synthetic inputs, frames per second.
"""
import json, os, resource, sys, time
from pathlib import Path

def peak_rss_gb() -> float:
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"): return int(line.split()[1]) / 2**20
    except OSError: pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

def main(cfg: dict) -> dict:
    import numpy as np, torch
    torch.set_num_threads(cfg["threads"])
    from synthlab.talk.model import PCAVS, PCAVSConfig
    shared = Path(cfg["shared"])
    T, B = cfg["frames"], cfg["batch"]
    if cfg["model"] == "official":
        with torch.device("meta"): m = PCAVS(PCAVSConfig.official())
        fresh = PCAVS(PCAVSConfig.official())
        fw_path = shared / "reference" / "fill_weights.py"
        if fw_path.exists():
            import importlib.util
            spec = importlib.util.spec_from_file_location("fill_weights", fw_path)
            fw = importlib.util.module_from_spec(spec); spec.loader.exec_module(fw)
            for net, rules in ((fresh.netG, fw.PCAVS_RULES), (fresh.netV, None), (fresh.netE, None), (fresh.netA_sync, None)):
                sd = fw.filled_state_dict(net.state_dict(), rules=rules) if rules else fw.filled_state_dict(net.state_dict())
                net.load_state_dict(sd)
        m = fresh.eval()
        z = np.load(shared / "reference" / "pcavs" / "pcavs_reference.npz")
        idf = torch.from_numpy(z["input_f32"])
        pose = torch.from_numpy(z["pose_f32"]).repeat(-(-T // 4), 1, 1, 1)[:T]
        mel = torch.from_numpy(z["spectrograms"]).repeat(-(-T // 4), 1, 1, 1)[:T]
    else:
        from synthlab.hub import load
        m = load(cfg["model"])
        S = m.cfg.size
        g = torch.Generator().manual_seed(0)
        idf, pose = torch.rand(1, 3, S, S, generator=g) * 2 - 1, None
        mel = torch.rand(T, 1, 80, 20, generator=g)
    t0 = time.perf_counter()
    with torch.no_grad():
        if cfg["recipe"] == "official":
            outs = []
            for s in range(0, T, B):
                e = min(T, s + B)
                ident = idf.expand(e - s, -1, -1, -1)
                idfeat = m.encode_identity(ident)                       # recomputed every batch, as the official code
                _, speech = m.encode_speech(mel[s:e])
                ref_pose = m.encode_pose(ident)                         # E(identity frame): the ref-pose stream
                drv_pose = m.encode_pose(pose[s:e])
                m.generate(idfeat, speech, ref_pose, noise="buffers")   # pass 1: ref-pose output (shown by the demo)
                outs.append(m.generate(idfeat, speech, drv_pose, noise="buffers"))   # pass 2: pose-driven output
            out = torch.cat(outs)
        else:
            out = m.animate(idf, mel, pose, batch=B, noise="buffers")
    secs = time.perf_counter() - t0
    res = dict(cfg, seconds=secs, per_frame=secs / T, fps=T / secs, peak_gb=round(peak_rss_gb(), 2))
    if cfg.get("save"): torch.save(out[:4].clone(), cfg["save"])
    return res

if __name__ == "__main__":
    print("RESULT " + json.dumps(main(json.loads(sys.argv[1]))))
