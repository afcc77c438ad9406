"""benchmarks/talk.py: the probe-target line it writes under the probe matrix (known values)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("talk_bench", ROOT / "benchmarks" / "talk.py")
tb = importlib.util.module_from_spec(spec); spec.loader.exec_module(tb)

CHANCE = {"identity": 0.25, "yaw": 0.0, "pitch": 0.0, "roll": 0.0, "viseme": 0.2}

def table(pose_pitch=0.95, id_yaw=0.1):
    s = {"identity": {"identity": 1.0, "yaw": id_yaw, "pitch": 0.0, "roll": 0.0, "viseme": 0.2},
         "speech": {"identity": 0.25, "yaw": 0.0, "pitch": 0.0, "roll": 0.0, "viseme": 0.92},
         "pose": {"identity": 0.4, "yaw": 0.99, "pitch": pose_pitch, "roll": 0.93, "viseme": 0.2}}
    return {"scores": s, "chance": CHANCE, "metric": {}, "n_train": 3, "n_test": 1}

def test_probe_targets_all_met_and_worst_cells():
    line = tb.probe_targets(table())
    assert "(all met)" in line and "pose → pitch 0.950" in line
    assert "pose → identity 0.20, identity → yaw 0.10" in line          # (0.4 − 0.25) / 0.75 = 0.2 is the largest other cell

def test_probe_targets_not_met():
    line = tb.probe_targets(table(pose_pitch=0.5, id_yaw=0.6))
    assert "(not all met)" in line and "identity → yaw 0.60" in line.split("chance: ")[1].split(",")[0]

def test_markdown_carries_the_line():
    md = tb.markdown({"quick": True, "when": "now", "machine": "m", "torch": "t",
                      "probes": {"n": 4, "markdown": "| table |", "scores": table()}})
    assert "| table |" in md and "Targets: own factor" in md
