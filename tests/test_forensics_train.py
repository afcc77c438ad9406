"""Training the forensics presets (synthlab.forensics.train): task configs, method filtering for cross-forgery runs,
a tiny run that resumes and ships, and the same run under torchrun with 2 gloo processes."""
import json, os, subprocess, sys
from pathlib import Path
import pytest
import torch
from synthlab.core import InputError, MissingFileError, OverwriteError
from synthlab.train import train_main
from synthlab.forensics.schema import METHODS
from synthlab.forensics.train import (DetectTaskConfig, ID_REPLACED, ID_REMAINED, TINY_DATASET, detect_spec, load_run, ship,
                                      task_data)

@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    from synthlab.forensics.forge import make_dataset
    root = tmp_path_factory.mktemp("forgery") / "data"
    make_dataset(root, **TINY_DATASET)
    return root

def test_meta_groups_partition_the_fake_methods():
    assert set(ID_REPLACED) | set(ID_REMAINED) == set(range(1, 16)) and not set(ID_REPLACED) & set(ID_REMAINED)
    assert all(METHODS[i].tri == 2 for i in ID_REPLACED) and 4 in ID_REPLACED and 10 in ID_REMAINED

def test_task_config_errors():
    with pytest.raises(InputError, match="unknown fake method"): DetectTaskConfig(methods=(0, 4))
    with pytest.raises(InputError, match="unknown fake method"): DetectTaskConfig(methods=(16,))
    with pytest.raises(InputError, match="kind"): DetectTaskConfig(kind="audio")

def test_methods_filter_keeps_all_reals(tiny_root):
    full, _ = task_data(DetectTaskConfig(data=str(tiny_root), perturb_p=0))
    only4, val = task_data(DetectTaskConfig(data=str(tiny_root), methods=(4,), perturb_p=0))
    assert {r.cls for r in full.records} == {0, 4, 10} and {r.cls for r in only4.records} == {0, 4}
    n_real = sum(r.cls == 0 for r in full.records)
    assert sum(r.cls == 0 for r in only4.records) == n_real > 0
    assert {r.cls for r in val.records} == {0, 4, 10}           # validation is never filtered

def test_video_and_mask_specs_build(tiny_root, tmp_path):
    for kind, model, key in (("mask", dict(size=64, base=4, depth=3), "image"), ("video", dict(size=32, n_frames=4), "frames")):
        spec = detect_spec(dict(out_dir=str(tmp_path / kind), progress=False), DetectTaskConfig(data=str(tiny_root), kind=kind, model=model))
        item = spec["train_ds"][0]
        batch = {k: (v.unsqueeze(0) if torch.is_tensor(v) else [v]) for k, v in item.items()}
        loss = spec["loss_fn"](spec["model"], batch)
        loss = loss[0] if isinstance(loss, tuple) else loss
        assert torch.isfinite(loss) and key in item

def test_tiny_run_resumes_and_ships(tmp_path):
    out = tmp_path / "run"
    assert train_main(["detect-tiny", "--out", str(out), "--no-progress"]) == 0
    assert (out / "last.pt").exists() and (out / "data" / "dataset.json").exists()
    assert json.loads((out / "task.json").read_text())["kind"] == "image"
    assert train_main(["detect-tiny", "--out", str(out), "--no-progress", "--max-steps", "4", "--epochs", "4", "--resume"]) == 0
    model, tcfg, hist = load_run(out)
    assert hist.records[-1]["step"] == 4
    card = ship(out, name="detect-test", folder=tmp_path / "w", command="synthlab train detect-tiny")
    from synthlab.hub import load
    loaded = load("detect-test", folder=tmp_path / "w")
    for (k, a), b in zip(model.state_dict().items(), loaded.state_dict().values()):   # shipped in float16
        torch.testing.assert_close(b, a.half().to(a.dtype) if a.is_floating_point() else a, rtol=0, atol=0, msg=k)
    x = torch.rand(2, 3, 64, 64)
    assert set(loaded.predict(x)) >= {"p_fake", "p_tri", "p_cls"}
    assert "all methods" in card.data
    with pytest.raises(OverwriteError): ship(out, name="detect-test", folder=tmp_path / "w")
    with pytest.raises(MissingFileError, match="last.pt"): load_run(tmp_path / "nothing")

def test_tiny_run_under_torchrun_two_processes(tmp_path):
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29577", "--no-python",
           str(Path(sys.executable).parent / "synthlab"), "train", "detect-tiny", "--out", str(out), "--no-progress"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.count("trained to step") == 1                 # rank 0 only prints
    model, _, hist = load_run(out)
    assert hist.records[-1]["step"] == 3
