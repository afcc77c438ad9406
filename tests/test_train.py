"""Tests for synthlab.train: the config, the sampler's batch order, checkpoints, exact resume, history and the CLI."""
import json, math, os, random
from pathlib import Path
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from synthlab.core import SynthlabError, InputError, CheckpointError, MissingFileError, OverwriteError
from synthlab.train import (TrainConfig, fit, History, global_batches, save_checkpoint, load_checkpoint, get_rng_state,
                            set_rng_state, register_task, get_task, train_main, toy_data, toy_loss, TOY_WEIGHTS, TOY_BIAS,
                            TASKS, _lr_at, init_weights_, parse_options, parse_train_args)

torch.set_num_threads(1)

def cfg_(**kw):
    base = dict(epochs=3, batch_size=32, lr=0.01, progress=False)
    return TrainConfig(**{**base, **kw})

def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.Linear(16, 1))

def noisy_loss(model, batch):
    "A loss that draws from all three RNGs (torch via dropout, numpy, python), so exact resume needs all three restored."
    x, y = batch
    x = x + 0.01 * torch.from_numpy(np.random.randn(*x.shape).astype(np.float32))
    return F.mse_loss(model(x), y) * (1 + 0.01 * random.random()), {}

class Crash(Exception): pass

def crash_at(k):
    def on_step(step, logs):
        if step == k: raise Crash(f"simulated crash after step {k}")
    return on_step

def params(m): return [p.detach().clone() for p in m.parameters()]

# ---------------------------------------------------------------- config
def test_config_roundtrip_and_replace():
    c = TrainConfig(epochs=2, batch_size=8, out_dir=Path("/tmp/x"), optimizer="SGD", grad_clip=1.0)
    assert c.out_dir == "/tmp/x" and c.optimizer == "sgd"
    d = c.to_dict()
    json.dumps(d)                                   # plain, JSON-able
    assert TrainConfig.from_dict(d) == c
    assert c.replace(lr=0.5).lr == 0.5 and c.lr == 1e-3

@pytest.mark.parametrize("kw,msg", [
    (dict(optimizer="lbfgs"), "unknown optimizer 'lbfgs'"), (dict(batch_size=0), "batch_size"), (dict(epochs=1.5), "epochs"),
    (dict(lr=-1), "lr must be a positive number"), (dict(max_steps=0), "max_steps"), (dict(grad_clip=0), "grad_clip"),
    (dict(lr_schedule="step"), "unknown lr_schedule"), (dict(resume=True), "needs out_dir"), (dict(seed=-1), "seed")])
def test_config_errors(kw, msg):
    with pytest.raises(InputError, match=msg): TrainConfig(**kw)

def test_config_from_dict_unknown_key():
    with pytest.raises(InputError, match="unknown TrainConfig field"): TrainConfig.from_dict({"learning_rate": 1})

# ---------------------------------------------------------------- batch order
@pytest.mark.parametrize("n,B,W", [(20, 4, 2), (23, 8, 4), (16, 4, 4), (9, 3, 3)])
def test_global_batches_shards_union_is_single_process_batch(n, B, W):
    single = global_batches(n, B, seed=3, epoch=1)
    shards = [global_batches(n, B, seed=3, epoch=1, world_size=W, rank=r) for r in range(W)]
    assert len(single) == n // B and all(len(s) == n // B for s in shards)
    for k in range(n // B):
        assert all(len(s[k]) == B // W for s in shards)
        assert sorted(sum((s[k] for s in shards), [])) == sorted(single[k])

def test_global_batches_known_permutation():
    # independently: the permutation is torch.randperm seeded with seed + epoch, cut into consecutive chunks
    perm = torch.randperm(10, generator=torch.Generator().manual_seed(5 + 2)).tolist()
    assert global_batches(10, 3, seed=5, epoch=2) == [perm[0:3], perm[3:6], perm[6:9]]
    seen = sum(global_batches(10, 3, seed=5, epoch=2), [])
    assert len(set(seen)) == 9                       # no sample twice; the incomplete last batch is dropped

def test_global_batches_not_divisible():
    with pytest.raises(InputError, match="not divisible"): global_batches(10, 4, world_size=3)

# ---------------------------------------------------------------- fit
def test_fit_toy_loss_decreases_and_recovers_weights():
    torch.manual_seed(0)
    m = nn.Linear(4, 1)
    h = fit(m, toy_data(256), toy_loss, cfg_(epochs=8, lr=0.05, log_every=4), val_ds=toy_data(64, seed=1))
    losses = h.series("loss")[1]
    assert losses[-1] < losses[0] / 20
    steps, vl = h.series("val_loss")
    assert steps == [8 * k for k in range(1, 9)]     # one validation per epoch of 256 // 32 = 8 steps
    assert vl[-1] < vl[0]
    torch.testing.assert_close(m.weight.detach()[0], TOY_WEIGHTS, atol=0.05, rtol=0)
    assert abs(m.bias.item() - TOY_BIAS) < 0.05
    assert h.records[-1]["step"] == 64

def test_fit_one_sgd_step_known_value():
    # one SGD step of a bias-free linear model from w = 0 on the MSE: w1 = lr * 2/B * X_k^T y_k, X_k = step-0 batch
    ds = toy_data(64)
    m = nn.Linear(4, 1, bias=False); nn.init.zeros_(m.weight)
    fit(m, ds, toy_loss, cfg_(batch_size=16, lr=0.1, optimizer="sgd", max_steps=1, seed=7))
    idx = global_batches(64, 16, seed=7, epoch=0)[0]
    x, y = ds.tensors[0][idx], ds.tensors[1][idx]
    expected = 0.1 * 2 / 16 * (x.T @ y)[:, 0]
    torch.testing.assert_close(m.weight.detach()[0], expected, atol=1e-6, rtol=1e-5)

def test_fit_grad_clip_limits_step():
    # plain SGD with a clipped gradient moves the parameters by exactly lr * clip
    m = nn.Linear(4, 1); w0 = torch.cat([p.detach().flatten() for p in m.parameters()]).clone()
    fit(m, toy_data(64), toy_loss, cfg_(batch_size=16, lr=0.1, optimizer="sgd", max_steps=1, grad_clip=1e-3))
    w1 = torch.cat([p.detach().flatten() for p in m.parameters()])
    assert math.isclose((w1 - w0).norm().item(), 0.1 * 1e-3, rel_tol=1e-4)

def test_lr_schedule_known_values():
    c = TrainConfig(lr=1.0, lr_schedule="cosine", warmup_steps=2)
    assert [_lr_at(s, 10, c) for s in (0, 1)] == [0.5, 1.0]
    assert _lr_at(2, 10, c) == pytest.approx(1.0) and _lr_at(6, 10, c) == pytest.approx(0.5)
    assert _lr_at(10, 10, c) == pytest.approx(0.0, abs=1e-12)
    h = fit(nn.Linear(4, 1), toy_data(64), toy_loss, cfg_(batch_size=16, epochs=1, log_every=1, lr=0.1, lr_schedule="cosine"))
    lrs = h.series("lr")[1]
    assert lrs[0] == pytest.approx(0.1) and lrs == sorted(lrs, reverse=True)

def test_fit_dict_batches_and_collate_and_metrics():
    class DS(torch.utils.data.Dataset):
        def __init__(self): self.x, self.y = toy_data(64).tensors
        def __len__(self): return 64
        def __getitem__(self, i): return {"x": self.x[i], "y": self.y[i]}
    def loss_fn(model, b): return F.mse_loss(model(b["x"]), b["y"])      # a bare tensor is fine too
    seen = []
    def collate(items):
        seen.append(len(items))
        return {k: torch.stack([it[k] for it in items]) for k in items[0]}
    h = fit(nn.Linear(4, 1), DS(), loss_fn, cfg_(batch_size=16, epochs=1), val_ds=DS(), collate_fn=collate,
            metrics_fn=lambda m, b: {"l1": (m(b["x"]) - b["y"]).abs().mean()})
    assert seen[:4] == [16] * 4 and h.last("val_l1") is not None and "val_loss" not in h.keys()

# ---------------------------------------------------------------- checkpoints
def test_checkpoint_contents_load_weights_only(tmp_path):
    m = mlp()
    h = fit(m, toy_data(256), noisy_loss, cfg_(out_dir=tmp_path, max_steps=5))
    ck = torch.load(tmp_path / "last.pt", weights_only=True)            # raises if anything was pickled
    assert (ck["step"], ck["epoch"], ck["batch_in_epoch"]) == (5, 0, 5)
    for k, v in m.state_dict().items(): assert torch.equal(ck["model"][k], v)
    assert ck["optimizer"]["state"] and ck["config"] == cfg_(out_dir=tmp_path, max_steps=5).to_dict()
    rng = ck["rng"][0]
    assert isinstance(rng["torch"], torch.Tensor) and isinstance(rng["numpy"]["keys"], torch.Tensor)
    assert isinstance(rng["python"]["state"], list) and len(rng["python"]["state"]) == 625
    assert ck["history"] == h.records == History.load(tmp_path / "history.json").records
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.json", "last.pt"]

def test_keep_step_ckpts(tmp_path):
    fit(nn.Linear(4, 1), toy_data(64), toy_loss, cfg_(batch_size=16, out_dir=tmp_path, ckpt_every=4, keep_step_ckpts=True, epochs=2))
    assert sorted(p.name for p in tmp_path.glob("step_*.pt")) == ["step_00000004.pt", "step_00000008.pt"]
    assert load_checkpoint(tmp_path / "step_00000004.pt")["step"] == 4

def test_save_checkpoint_is_atomic(tmp_path, monkeypatch):
    p = save_checkpoint({"v": torch.ones(3)}, tmp_path / "last.pt")
    real_save = torch.save
    def broken_save(obj, f):
        f.write(b"half a checkpoint"); raise OSError("disk full")
    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError): save_checkpoint({"v": torch.zeros(3)}, p)
    monkeypatch.setattr(torch, "save", real_save)
    assert torch.equal(load_checkpoint(p)["v"], torch.ones(3))          # the old checkpoint survived intact
    assert [f.name for f in tmp_path.iterdir()] == ["last.pt"]           # and no temp file is left

def test_save_checkpoint_plain_conversion_and_refusal(tmp_path):
    p = save_checkpoint({"a": np.float32(1.5), "b": np.arange(2), "c": (1, [2, {"d": Path("x")}])}, tmp_path / "c.pt")
    ck = torch.load(p, weights_only=True)
    assert ck["a"] == 1.5 and torch.equal(ck["b"], torch.arange(2)) and ck["c"] == (1, [2, {"d": "x"}])
    with pytest.raises(CheckpointError, match=r"checkpoint\['m'\] holds a Linear"): save_checkpoint({"m": nn.Linear(1, 1)}, tmp_path / "d.pt")

def test_load_checkpoint_refuses_pickled_objects(tmp_path):
    torch.save({"model": nn.Linear(2, 2)}, tmp_path / "pickled.pt")
    with pytest.raises(CheckpointError, match="contains pickled Python objects.*Linear"): load_checkpoint(tmp_path / "pickled.pt")
    (tmp_path / "trunc.pt").write_bytes((tmp_path / "pickled.pt").read_bytes()[:50])
    with pytest.raises(CheckpointError, match="truncated"): load_checkpoint(tmp_path / "trunc.pt")

def test_rng_state_roundtrip_through_checkpoint(tmp_path):
    save_checkpoint({"rng": get_rng_state()}, tmp_path / "r.pt")
    a = (torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random(), random.gauss(0, 1))
    set_rng_state(load_checkpoint(tmp_path / "r.pt")["rng"])
    assert (torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random(), random.gauss(0, 1)) == a

# ---------------------------------------------------------------- resume
def test_resume_after_crash_matches_uninterrupted(tmp_path):
    a = mlp(); ha = fit(a, toy_data(256), noisy_loss, cfg_(out_dir=tmp_path / "A", ckpt_every=5, log_every=3))
    b = mlp()
    with pytest.raises(Crash): fit(b, toy_data(256), noisy_loss, cfg_(out_dir=tmp_path / "B", ckpt_every=5, log_every=3), on_step=crash_at(13))
    ck = load_checkpoint(tmp_path / "B" / "last.pt")
    assert (ck["step"], ck["epoch"], ck["batch_in_epoch"]) == (10, 1, 2)           # mid-epoch
    b = mlp(seed=123)                                                                # fresh process, other init
    hb = fit(b, toy_data(256), noisy_loss, cfg_(out_dir=tmp_path / "B", ckpt_every=5, log_every=3, resume=True))
    for pa, pb in zip(a.parameters(), b.parameters()): assert torch.equal(pa, pb)
    assert hb.records == ha.records                                                  # the history is the same too

def test_resume_after_max_steps_matches_uninterrupted(tmp_path):
    a = mlp(); fit(a, toy_data(256), noisy_loss, cfg_(out_dir=tmp_path / "A"))
    b = mlp(); fit(b, toy_data(256), noisy_loss, cfg_(out_dir=tmp_path / "B", max_steps=11))
    assert load_checkpoint(tmp_path / "B" / "last.pt")["batch_in_epoch"] == 3
    assert not all(torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters()))
    fit(b, toy_data(256), noisy_loss, cfg_(out_dir=tmp_path / "B", resume=True))
    for pa, pb in zip(a.parameters(), b.parameters()): assert torch.equal(pa, pb)

def test_stochastic_loss_depends_on_seed(tmp_path):
    # the resume tests above can fail: the RNG really changes the result
    a, b = mlp(), mlp()
    fit(a, toy_data(256), noisy_loss, cfg_(max_steps=5)); fit(b, toy_data(256), noisy_loss, cfg_(max_steps=5, seed=1))
    assert not all(torch.equal(pa, pb) for pa, pb in zip(a.parameters(), b.parameters()))

# ---------------------------------------------------------------- errors
def test_resume_errors(tmp_path):
    with pytest.raises(MissingFileError, match="no checkpoint at"):
        fit(mlp(), toy_data(), toy_loss, cfg_(out_dir=tmp_path, resume=True))
    fit(mlp(), toy_data(), toy_loss, cfg_(out_dir=tmp_path, max_steps=3))
    with pytest.raises(CheckpointError, match="batch_size: checkpoint 32, now 64"):
        fit(mlp(), toy_data(), toy_loss, cfg_(out_dir=tmp_path, resume=True, batch_size=64))
    with pytest.raises(CheckpointError, match=r"different model .*0.weight: checkpoint \(16, 4\), model \(8, 4\)"):
        fit(nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 1)), toy_data(), toy_loss, cfg_(out_dir=tmp_path, resume=True))
    with pytest.raises(OverwriteError, match="already holds a checkpoint"):
        fit(mlp(), toy_data(), toy_loss, cfg_(out_dir=tmp_path))
    fit(mlp(), toy_data(), toy_loss, cfg_(out_dir=tmp_path, force=True, max_steps=2))   # force starts afresh
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 2
    save_checkpoint({"model": {}}, tmp_path / "last.pt")
    with pytest.raises(CheckpointError, match="not a synthlab training checkpoint"):
        fit(mlp(), toy_data(), toy_loss, cfg_(out_dir=tmp_path, resume=True))

def test_batch_not_divisible_by_world_size(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3"); monkeypatch.setenv("RANK", "0")
    with pytest.raises(InputError, match="batch_size 32 .* not divisible by the 3 processes"):
        fit(mlp(), toy_data(), toy_loss, cfg_())

@pytest.mark.parametrize("loss_fn,msg", [
    (lambda m, b: F.mse_loss(m(b[0]), b[1], reduction="none"), "scalar tensor"),
    (lambda m, b: (F.mse_loss(m(b[0]), b[1]), {"bad": "x"}), r"logs\['bad'\] must be a number"),
    (lambda m, b: 1.0, "scalar tensor"),
    (lambda m, b: F.mse_loss(m(b[0]), b[1]) * float("nan"), "loss became nan at step 0")])
def test_bad_loss_fn(loss_fn, msg):
    with pytest.raises(InputError, match=msg): fit(nn.Linear(4, 1), toy_data(64), loss_fn, cfg_())

def test_other_input_errors():
    with pytest.raises(InputError, match="fewer than one batch"): fit(nn.Linear(4, 1), toy_data(10), toy_loss, cfg_())
    with pytest.raises(InputError, match="no trainable parameters"): fit(nn.ReLU(), toy_data(64), toy_loss, cfg_())
    with pytest.raises(InputError, match="must be a TrainConfig"): fit(nn.Linear(4, 1), toy_data(64), toy_loss, {"lr": 1})
    assert issubclass(InputError, SynthlabError)

# ---------------------------------------------------------------- history
def test_history_plot_and_io(tmp_path):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
    h = fit(nn.Linear(4, 1), toy_data(64), toy_loss, cfg_(batch_size=16, log_every=2), val_ds=toy_data(32, seed=1))
    fig = h.plot()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [l.get_label() for l in fig.axes[0].lines] == ["loss"]
    assert [l.get_label() for l in fig.axes[1].lines] == ["val_loss", "val_mae"]
    x, y = fig.axes[0].lines[0].get_data()
    assert list(x) == h.series("loss")[0] == [2, 4, 6, 8, 10, 12]
    plt.close(fig)
    fig = History([{"step": 1, "loss": 1.0}]).plot(logy=True); assert len(fig.axes) == 1; plt.close(fig)
    assert History.load(h.save(tmp_path / "h.json")).records == h.records
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(CheckpointError, match="not a synthlab history"): History.load(tmp_path / "bad.json")
    with pytest.raises(MissingFileError): History.load(tmp_path / "none.json")

def test_history_records_are_means_since_last_record():
    losses = []
    def loss_fn(m, b):
        l = toy_loss(m, b)[0]; losses.append(l.item()); return l, {}
    h = fit(nn.Linear(4, 1), toy_data(64), loss_fn, cfg_(batch_size=16, epochs=1, log_every=3))
    assert h.series("loss")[0] == [3, 4]                         # every 3 steps, and at the end of the epoch
    assert h.series("loss")[1] == pytest.approx([sum(losses[:3]) / 3, losses[3]])

# ---------------------------------------------------------------- tasks and CLI
def test_train_main_toy(tmp_path, capsys):
    assert train_main(["toy", "--epochs", "2", "--batch-size", "16", "--lr", "0.05", "--out", str(tmp_path), "--no-progress", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "toy: learned w" in out and "trained to step 32" in out
    ck = load_checkpoint(tmp_path / "last.pt")
    assert ck["step"] == 32 and ck["config"]["batch_size"] == 16 and ck["config"]["seed"] == 3
    with pytest.raises(OverwriteError): train_main(["toy", "--out", str(tmp_path), "--no-progress"])
    assert train_main(["toy", "--epochs", "3", "--batch-size", "16", "--lr", "0.05", "--out", str(tmp_path), "--no-progress", "--seed", "3", "--resume"]) == 0
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 48        # grew from 2 to 3 epochs

def test_train_main_max_steps_and_module_form(tmp_path, capsys):
    assert train_main(["synthlab.train:toy", "--max-steps", "5", "--out", str(tmp_path), "--no-progress"]) == 0
    assert load_checkpoint(tmp_path / "last.pt")["step"] == 5

def test_init_starts_from_given_weights_and_only_then(tmp_path):
    src = mlp(); fit(src, toy_data(256), noisy_loss, cfg_(out_dir=tmp_path / "src"))
    # known value: after init_weights_ the model holds exactly the source run's weights
    m = init_weights_(mlp(seed=5), tmp_path / "src" / "last.pt")
    for a, b in zip(m.parameters(), src.parameters()): assert torch.equal(a, b)
    # a fine-tune starts there: its first logged loss is the trained model's, far below a fresh model's
    h_fresh = fit(mlp(seed=5), toy_data(256), noisy_loss, cfg_(epochs=1, log_every=1))
    h_ft = fit(mlp(seed=5), toy_data(256), noisy_loss, cfg_(epochs=1, log_every=1, init=str(tmp_path / "src" / "last.pt")))
    assert h_ft.records[0]["loss"] < h_fresh.records[0]["loss"] / 5
    # on resume the run's own checkpoint wins: init pointing at a missing file is not read
    b = mlp(); fit(b, toy_data(256), noisy_loss, cfg_(out_dir=tmp_path / "B", max_steps=4))
    fit(b, toy_data(256), noisy_loss, cfg_(out_dir=tmp_path / "B", resume=True, max_steps=6, init=str(tmp_path / "gone.pt")))
    assert load_checkpoint(tmp_path / "B" / "last.pt")["step"] == 6

def test_init_weights_errors(tmp_path):
    src = mlp(); fit(src, toy_data(64), noisy_loss, cfg_(epochs=1, out_dir=tmp_path / "src"))
    with pytest.raises(CheckpointError, match="does not fit"): init_weights_(nn.Linear(4, 1), tmp_path / "src" / "last.pt")
    with pytest.raises(MissingFileError, match="no such file"): init_weights_(mlp(), tmp_path / "nope.pt")
    with pytest.raises(InputError, match="is a folder.*src/last.pt"): init_weights_(mlp(), tmp_path / "src")
    with pytest.raises(InputError, match="no preset named 'nope'"): init_weights_(mlp(), "nope")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError): init_weights_(mlp(), tmp_path / "junk.pt")
    before = params(m := mlp())
    with pytest.raises(CheckpointError): init_weights_(m, tmp_path / "junk.pt")
    assert all(torch.equal(a, b) for a, b in zip(before, m.parameters()))        # a failed init leaves the model as it was
    with pytest.raises(InputError, match="init must be None"): TrainConfig(init=7)

def test_init_from_a_shipped_preset_is_strict():
    from synthlab import hub
    c = hub.card("anime-small"); guided_anime_interp = hub.resolve_builder(c.builder)
    m = init_weights_(guided_anime_interp(**c.config), "anime-small")
    ref = hub.load("anime-small").state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in m.state_dict().items())
    with pytest.raises(CheckpointError, match="does not fit"): init_weights_(guided_anime_interp(**{**c.config, "guide_input": False}), "anime-small")

def test_parse_options_known_values_and_errors():
    assert parse_options(["size=320,192", "texture=0.3", "guide=sgm", "fill_holes=False", "note=a b"]) == \
        {"size": (320, 192), "texture": 0.3, "guide": "sgm", "fill_holes": False, "note": "a b"}
    for bad, msg in [("texture", "needs KEY=VALUE"), ("=3", "needs KEY=VALUE"), ("2x=1", "needs KEY=VALUE")]:
        with pytest.raises(InputError, match=msg): parse_options([bad])
    with pytest.raises(InputError, match="gives 'a' twice"): parse_options(["a=1", "a=2"])
    assert parse_train_args(["toy", "--lr", "0.1", "--set", "warmup_steps=3"]) == ("toy", {"lr": 0.1, "warmup_steps": 3})
    with pytest.raises(InputError, match="lr given both"): parse_train_args(["toy", "--lr", "0.1", "--set", "lr=0.2"])

def test_train_main_set_and_init(tmp_path, capsys):
    assert train_main(["toy", "--max-steps", "6", "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    assert train_main(["toy", "--init", str(tmp_path / "a" / "last.pt"), "--set", "lr_schedule=cosine", "--set", "warmup_steps=2",
                       "--max-steps", "3", "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    ck = load_checkpoint(tmp_path / "b" / "last.pt")
    assert (ck["step"], ck["config"]["lr_schedule"], ck["config"]["warmup_steps"]) == (3, "cosine", 2)
    assert ck["config"]["init"] == str(tmp_path / "a" / "last.pt")
    with pytest.raises(InputError, match="unknown TrainConfig field"): train_main(["toy", "--set", "textur=1", "--no-progress"])

def test_train_main_help_and_errors(capsys):
    assert train_main(["--help"]) == 0 and "--batch-size" in capsys.readouterr().out
    assert train_main(["toy", "--epochs", "many"]) == 2
    with pytest.raises(InputError, match="unknown training task 'nope'.*toy"): train_main(["nope"])
    with pytest.raises(InputError, match="cannot import"): train_main(["no_such_module_xyz:task"])

def test_register_task(tmp_path):
    @register_task("_test_tiny")
    def tiny(overrides):
        return dict(model=nn.Linear(4, 1), train_ds=toy_data(32), loss_fn=toy_loss,
                    cfg=TrainConfig(batch_size=8, progress=False).replace(**overrides))
    try:
        assert get_task("_test_tiny") is tiny
        assert train_main(["_test_tiny", "--out", str(tmp_path)]) == 0
        assert load_checkpoint(tmp_path / "last.pt")["step"] == 4
    finally: TASKS.pop("_test_tiny")

def test_task_missing_keys():
    register_task("_test_bad")(lambda o: dict(model=nn.Linear(1, 1)))
    try:
        with pytest.raises(InputError, match="no train_ds, loss_fn, cfg"): train_main(["_test_bad"])
    finally: TASKS.pop("_test_bad")

def test_world_size_without_torchrun(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2"); monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(InputError, match="launch with torchrun"): fit(nn.Linear(4, 1), toy_data(64), toy_loss, cfg_(batch_size=16))

def test_progress_bar_on_stderr(capsys):
    fit(nn.Linear(4, 1), toy_data(64), toy_loss, cfg_(batch_size=16, epochs=1, progress=True))
    err = capsys.readouterr().err
    assert "train" in err and "4/4" in err


def test_end_worker_exits_under_torchrun_and_returns_elsewhere(tmp_path):
    "Under WORLD_SIZE > 1 end_worker ends the process with rc, output flushed, no teardown (atexit skipped); alone it returns rc."
    import subprocess, sys
    from synthlab.train import end_worker
    assert end_worker(5) == 5                                    # this test process: not a torchrun worker
    code = ("import atexit, sys; from synthlab.train import end_worker\n"
            "atexit.register(lambda: print('teardown ran'))\n"
            "print('work saved', end=''); sys.stderr.write('err kept')\n"
            "end_worker(3); print('not reached')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "LOCAL_RANK")}
    p = subprocess.run([sys.executable, "-c", code], env={**env, "WORLD_SIZE": "2"}, capture_output=True, text=True, cwd=tmp_path)
    assert (p.returncode, p.stdout, p.stderr) == (3, "work saved", "err kept")
    p = subprocess.run([sys.executable, "-c", code], env={**env, "WORLD_SIZE": "1"}, capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 0 and p.stdout == "work savednot reached\nteardown ran\n"
