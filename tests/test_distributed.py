"""torchrun/DDP tests for synthlab.train: 2 Gloo processes on CPU.

* 2 processes with global batch B give the same weights as 1 process with batch B;
* a 2-process run killed mid-epoch (`os._exit` on every rank via tests/ddp_toy.py --crash-after-steps) and resumed
  with torchrun ends on the weights of the uninterrupted run, and so does resuming that checkpoint in 1 process.

Three torchrun launches in total (~10 s each on 2 idle cores; the first two run side by side), shared through a
module-scoped fixture. (The batch-not-divisible error is tested in test_train.py through WORLD_SIZE.)
"""
import os, shutil, socket, subprocess, sys
from pathlib import Path
import pytest
import torch

pytestmark = pytest.mark.distributed

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tests" / "ddp_toy.py"
# the toy task (256 samples, global batch 32: 8 steps per epoch), 3 epochs = 24 steps
ARGS = ["toy", "--epochs", "3", "--batch-size", "32", "--lr", "0.05", "--seed", "11", "--ckpt-every", "5", "--no-progress"]

if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
    pytest.skip("torch.distributed with Gloo is not available", allow_module_level=True)

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def start_torchrun(*args, nproc=2) -> subprocess.Popen:
    "Start `python -m torch.distributed.run --nproc_per_node 2 ... tests/ddp_toy.py toy ...` (the venv's torchrun)."
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"): env.pop(k, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), str(SCRIPT), *ARGS, *args]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

def finish(proc: subprocess.Popen, timeout=180) -> subprocess.CompletedProcess:
    try: out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill(); out, err = proc.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s:\n{out[-2000:]}\n{err[-2000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

def weights(out: Path) -> dict:
    return torch.load(out / "last.pt", map_location="cpu", weights_only=True)["model"]

@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    # the uninterrupted run and the run that gets killed are independent: start both at once
    full, crash = start_torchrun("--out", str(tmp / "full")), start_torchrun("--out", str(tmp / "crash"), "--crash-after-steps", "13")
    full, crash = finish(full), finish(crash)
    assert full.returncode == 0, full.stdout[-3000:] + full.stderr[-3000:]
    assert crash.returncode != 0, "the crash run was supposed to die"
    shutil.copytree(tmp / "crash", tmp / "crash_1proc")
    resumed = finish(start_torchrun("--out", str(tmp / "crash"), "--resume"))
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    return dict(tmp=tmp, full=full, resumed=resumed)

def test_two_processes_match_one_process(runs, tmp_path):
    from synthlab.train import get_task, fit
    torch.set_num_threads(1)
    spec = get_task("toy")(dict(epochs=3, batch_size=32, lr=0.05, seed=11, ckpt_every=5, progress=False, out_dir=str(tmp_path)))
    h1 = fit(spec["model"], spec["train_ds"], spec["loss_fn"], spec["cfg"], val_ds=spec["val_ds"])
    w1, w2 = spec["model"].state_dict(), weights(runs["tmp"] / "full")
    ck2 = torch.load(runs["tmp"] / "full" / "last.pt", weights_only=True)
    assert ck2["world_size"] == 2 and ck2["step"] == 24 and len(ck2["rng"]) == 2
    assert not torch.allclose(w1["weight"], torch.zeros(1, 4))
    for k in w1: torch.testing.assert_close(w2[k], w1[k], atol=1e-6, rtol=1e-6)
    # rank 0's history is the global one: losses averaged over both processes equal the 1-process batch means
    l1, l2 = h1.series("loss"), (lambda h: ([r["step"] for r in h if "loss" in r], [r["loss"] for r in h if "loss" in r]))(ck2["history"])
    assert l1[0] == l2[0]
    torch.testing.assert_close(torch.tensor(l2[1]), torch.tensor(l1[1]), atol=1e-6, rtol=1e-5)
    assert h1.last("val_loss") == pytest.approx([r for r in ck2["history"] if "val_loss" in r][-1]["val_loss"], abs=1e-6)

def test_rank0_only_writes_and_prints(runs):
    out = runs["full"].stdout
    assert out.count("trained to step 24") == 1 and out.count("toy: learned w") == 1
    assert sorted(p.name for p in (runs["tmp"] / "full").iterdir()) == ["history.json", "last.pt"]

def test_killed_mid_epoch_then_resumed_with_torchrun(runs):
    ck = torch.load(runs["tmp"] / "crash_1proc" / "last.pt", weights_only=True)
    assert (ck["step"], ck["epoch"], ck["batch_in_epoch"]) == (10, 1, 2)      # the last checkpoint before the kill
    full, resumed = weights(runs["tmp"] / "full"), weights(runs["tmp"] / "crash")
    for k in full: torch.testing.assert_close(resumed[k], full[k], atol=1e-6, rtol=1e-6)

def test_ddp_checkpoint_resumes_in_one_process(runs):
    from synthlab.train import get_task, fit
    out = runs["tmp"] / "crash_1proc"
    spec = get_task("toy")(dict(epochs=3, batch_size=32, lr=0.05, seed=11, ckpt_every=5, progress=False, out_dir=str(out), resume=True))
    fit(spec["model"], spec["train_ds"], spec["loss_fn"], spec["cfg"], val_ds=spec["val_ds"])
    full = weights(runs["tmp"] / "full")
    for k, v in spec["model"].state_dict().items(): torch.testing.assert_close(v, full[k], atol=1e-6, rtol=1e-6)

def test_loss_that_bypasses_forward_still_syncs_gradients(tmp_path):
    "A loss reading the parameters directly (no model.forward call, as talk_loss calls encoder methods) must train like 1 process."
    import importlib.util
    from synthlab.train import get_task, fit
    torch.set_num_threads(1)
    spec_mod = importlib.util.spec_from_file_location("ddp_toy", SCRIPT); toy = importlib.util.module_from_spec(spec_mod); spec_mod.loader.exec_module(toy)
    run = finish(subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
                                   "--master_port", str(free_port()), str(SCRIPT), "toy-direct", *ARGS[1:], "--out", str(tmp_path / "ddp")],
                                  cwd=ROOT, env={**{k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")},
                                                 "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    spec = get_task("toy")(dict(epochs=3, batch_size=32, lr=0.05, seed=11, ckpt_every=5, progress=False, out_dir=str(tmp_path / "one")))
    fit(spec["model"], spec["train_ds"], toy.direct_loss, spec["cfg"])
    w1, w2 = spec["model"].state_dict(), weights(tmp_path / "ddp")
    for k in w1: torch.testing.assert_close(w2[k], w1[k], atol=1e-6, rtol=1e-6)


def test_probe_adversary_bank_holds_every_process_rows(tmp_path):
    "Under 2 gloo processes each ProbeAdversary pushes both processes' rows (rank order), so both fit the same probe."
    script = ROOT / "tests" / "ddp_adversary.py"
    run = finish(subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
                                   "--master_port", str(free_port()), str(script), str(tmp_path)],
                                  cwd=ROOT, env={**{k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")},
                                                 "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    b0, b1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert int(b0["seen"]) == int(b1["seen"]) == 12                                 # 3 steps × 2 rows × 2 processes
    for k in ("bank_x", "bank_y"): torch.testing.assert_close(b0[k], b1[k], atol=0, rtol=0)   # identical banks: the same probe
    ranks = b0["bank_x"][:12, 0].round().tolist()
    assert ranks == [0, 0, 1, 1] * 3                                                # each step: rank 0's rows, then rank 1's

