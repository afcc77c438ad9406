"Tests of synthlab.anime.train: the `anime` task, the training loop on it (run, resume), and the shipped `anime-small` preset."
import json
from pathlib import Path
import numpy as np
import pytest
import torch
from synthlab.core import InputError, CheckpointError, OverwriteError
from synthlab import hub
from synthlab.train import get_task, train_main, History, load_checkpoint
from synthlab.anime.data import make_triplet
from synthlab.anime.model import AnimeInterp, AnimeInterpConfig
from synthlab.anime.train import (TRAIN_SEED_OFFSET, VAL_SEED_OFFSET, TEST_SEED_OFFSET, CelTriplets, GuidedAnimeInterp,
                                  guided_anime_interp, blend_init_, anime_loss, guide_flows, guide_tensors, heldout_triplets,
                                  benchmark_metrics, benchmark_table, history_path, flow_targets, AnimeTaskConfig)
from synthlab.anime.model import fill_holes

torch.set_num_threads(1)

def _psnr(a, b): return float(-10 * torch.log10(((a.clamp(0, 1) - b) ** 2).mean()))

# ---------------------------------------------------------------- task, data, loss

def test_task_registered_by_name():
    spec = get_task("anime")({})
    assert isinstance(spec["model"], GuidedAnimeInterp) and spec["model"].guide == "dis"
    assert spec["cfg"].batch_size == 8 and spec["cfg"].max_steps == 3000 and spec["cfg"].out_dir == "runs/anime-small"
    ds = spec["train_ds"]
    assert ds.seed_offset == TRAIN_SEED_OFFSET and ds.levels == (0, 1, 2)
    assert spec["val_ds"].seed_offset == VAL_SEED_OFFSET
    assert get_task("anime")({"guide": "zero", "lr": 1e-4})["model"].guide == "zero"

def test_task_default_recipe():
    "The recipe of the shipped preset: holes filled before GridNet, flows supervised by the midpoint targets."
    spec = get_task("anime")({})
    assert spec["model"].cfg.fill_holes and spec["model"].cfg.guide_input and spec["task"].flow_target == "midpoint"
    assert spec["task"].model_config()["fill_holes"] is True and spec["task"].model_config()["guide_input"] is True
    cfg = guided_anime_interp().cfg
    assert not (AnimeInterpConfig.official().fill_holes or cfg.fill_holes or cfg.guide_input)   # off unless asked
    assert spec["task"].texture == 0.5 and spec["train_ds"].texture == 0.5 and spec["val_ds"].texture == 0.5
    assert spec["train_ds"].dark == 0.5 and spec["val_ds"].dark == 0.0 and spec["model"].cfg.flow_norm
    assert spec["task"].model_config()["flow_norm"] is True

def test_tone_known_values():
    from synthlab.anime.train import tone
    f = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, -1)
    same, = tone([f], 1.0, 1.0)
    assert np.array_equal(same, f)
    sq, half = tone([f, f], 2.0, 1.0)[0], tone([f], 1.0, 0.5)[0]
    assert sq[8, 0, 0] == round(255 * (128 / 255) ** 2) == 64 and sq[15, 15, 0] == 255 and half[15, 15, 0] == 128
    assert sq.dtype == np.uint8 and (np.diff(sq[..., 0].ravel().astype(int)) >= 0).all()   # monotone

def test_dataset_dark():
    "`dark` darkens a fraction of the items with one tone curve for all three frames; flows and masks stay."
    plain, dark = (CelTriplets(8, size=(64, 48), gen_size=(96, 64), dark=p) for p in (0.0, 1.0))
    for i in range(4):
        a, b = plain[i], dark[i]
        for k in ("flow13", "flow12", "valid13", "valid12"): assert torch.equal(a[k], b[k]), k
        assert all(b[k].mean() <= a[k].mean() + 0.02 for k in ("I1", "I2", "I3"))
    assert np.mean([float(dark[i]["I2"].mean()) for i in range(8)]) < np.mean([float(plain[i]["I2"].mean()) for i in range(8)]) - 0.03
    assert "dark=1.0" in repr(dark)
    with pytest.raises(InputError, match="dark must be"): CelTriplets(4, dark=1.5)

def test_dataset_texture():
    "`texture` is the fraction of painted scenes; painting changes the frames, never the flows or masks."
    flat, painted, half = (CelTriplets(12, size=(64, 48), gen_size=(96, 64), texture=p) for p in (0.0, 1.0, 0.5))
    assert [flat.scene(i).paint for i in range(12)] == [None] * 12
    strengths = [painted.scene(i).paint.strength for i in range(12)]
    assert all(0.3 <= s <= 1.0 for s in strengths) and len(set(strengths)) == 12
    assert 2 <= sum(half.scene(i).paint is not None for i in range(12)) <= 10
    a, b = flat[3], painted[3]
    for k in ("flow13", "flow31", "flow12", "flow32", "valid13", "valid12", "level"): assert torch.equal(a[k], b[k]), k
    assert (a["I2"] - b["I2"]).abs().mean() > 0.005
    assert "texture=0.5" in repr(half)
    with pytest.raises(InputError, match="texture must be"): CelTriplets(4, texture=2)

def test_task_bad_option():
    with pytest.raises(InputError, match="flow_target must be one of"): AnimeTaskConfig(flow_target="middle")
    with pytest.raises(InputError, match="flow_target must be one of"): flow_targets({}, "middle")
    with pytest.raises(InputError, match="guide must be one of"): get_task("anime")({"guide": "raft"})
    with pytest.raises(InputError, match="multiples of 8"): CelTriplets(4, size=(100, 64))

def test_seed_ranges_disjoint():
    "Training, validation and benchmark seeds never meet (and stay above write_atd12k's seeds < 10^6)."
    train = range(TRAIN_SEED_OFFSET, TRAIN_SEED_OFFSET + 5_000_000)
    val = range(VAL_SEED_OFFSET, VAL_SEED_OFFSET + 5_000_000)
    test = range(TEST_SEED_OFFSET, TEST_SEED_OFFSET + 3_000_000)
    assert 10 ** 6 <= train.start and train.stop <= val.start and val.stop <= test.start

def test_dataset_deterministic_and_consistent():
    ds = CelTriplets(6, size=(64, 48), gen_size=(96, 64))
    a, b = ds[4], ds[4]
    for k in a: assert torch.equal(a[k], b[k]), k
    assert [int(ds[i]["level"]) for i in range(3)] == [0, 1, 2]
    # the exact flow carries visible pixels of frame 1 onto the same colours in frame 3 (known-value check of crops/flips)
    for i in range(6):
        it = ds[i]
        H, W = it["valid13"].shape
        ys, xs = torch.nonzero(it["valid13"] > 0, as_tuple=True)
        x3 = (xs + it["flow13"][0, ys, xs]).round().long(); y3 = (ys + it["flow13"][1, ys, xs]).round().long()
        ok = (x3 >= 0) & (x3 < W) & (y3 >= 0) & (y3 < H)
        c1, c3 = it["I1"][:, ys[ok], xs[ok]], it["I3"][:, y3[ok], x3[ok]]
        assert ((c1 - c3).abs().max(0).values < 0.02).float().mean() > 0.8

def test_midpoint_flows_land_on_the_middle_frame():
    "Known value: `flow12` carries frame 1's pixels onto the same colours in frame 2, through crops, flips and time reversal."
    ds = CelTriplets(8, size=(64, 48), gen_size=(96, 64))
    for i in range(8):
        it = ds[i]
        H, W = it["valid12"].shape
        for f, v, src in (("flow12", "valid12", "I1"), ("flow32", "valid32", "I3")):
            ys, xs = torch.nonzero(it[v] > 0, as_tuple=True)
            x2 = (xs + it[f][0, ys, xs]).round().long(); y2 = (ys + it[f][1, ys, xs]).round().long()
            ok = (x2 >= 0) & (x2 < W) & (y2 >= 0) & (y2 < H)
            c, c2 = it[src][:, ys[ok], xs[ok]], it["I2"][:, y2[ok], x2[ok]]
            assert ((c - c2).abs().max(0).values < 0.02).float().mean() > 0.8, (i, f)
    batch = {k: v[None] for k, v in ds[3].items()}
    g13, g31, v13, v31 = flow_targets(batch, "midpoint")
    assert torch.equal(g13, 2 * batch["flow12"]) and torch.equal(v31, batch["valid32"])
    assert flow_targets(batch, "endpoint")[0] is batch["flow13"]

def test_guides():
    T = make_triplet(5, (128, 96), level=1)
    f13, f31 = guide_flows(T.frame1, T.frame3, "dis")
    assert f13.shape == (96, 128, 2) and f13.dtype == np.float32
    moving = T.valid13 & (np.hypot(*T.flow13.transpose(2, 0, 1)) > 0.5)   # DIS smears motion into flat background,
    epe = lambda f: np.hypot(*(f - T.flow13).transpose(2, 0, 1))[moving].mean()   # so judge it where things move
    assert epe(f13) < 0.5 * epe(np.zeros_like(f13))
    I = torch.rand(2, 3, 40, 48)
    z13, z31 = guide_tensors(I, I, "zero")
    assert z13.shape == (2, 2, 40, 48) and z13.abs().sum() == 0
    with pytest.raises(InputError): guide_flows(T.frame1, T.frame3, "raft")

def test_blend_init_outputs_average_of_splats():
    torch.manual_seed(0)
    m = blend_init_(guided_anime_interp("small", "dis"))
    I1, I3 = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    with torch.no_grad(): o = m(I1, I3)
    torch.testing.assert_close(o.It, 0.5 * (o.I1t + o.I2t), atol=1e-5, rtol=0)
    # zero flow head: RFR starts at the guide; with a zero guide the frames are not moved at all
    m0 = blend_init_(guided_anime_interp("small", "zero"))
    with torch.no_grad(): o = m0(I1, I3)
    assert o.F12.abs().max() < 1e-6
    torch.testing.assert_close(o.It, 0.5 * (I1 + I3), atol=1e-5, rtol=0)

def test_blend_init_with_filled_holes():
    "With `fill_holes`, the initial model is a complete interpolator: holes take the other splat or the frames' blend."
    torch.manual_seed(0)
    m = blend_init_(guided_anime_interp("small", "dis", fill_holes=True)).eval()
    T = make_triplet(3, (128, 96), level=2)
    from synthlab.core import img2tensor
    I1, I2, I3 = img2tensor(list(T.frames)).split(1)
    with torch.no_grad(): o = m(I1, I3)
    f1, f3 = fill_holes(I1, I3, o.I1t, o.I2t, o.cover1, o.cover2, 0.5)
    torch.testing.assert_close(o.It, 0.5 * (f1 + f3), atol=1e-5, rtol=0)
    # known values where the splats leave holes: flows of 8 px (RFR starts at them, blend_init_ zeroes its update)
    J1, J3 = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    right = torch.zeros(1, 2, 64, 64); right[:, 0] = 8
    with torch.no_grad():
        same = m(J1, J3, right, right)             # both move right: holes in both on the left
        opp = m(J1, J3, right, -right)             # frame 1 right, frame 3 left: holes on the left in frame 1's splat only
    both = ((same.cover1 == 0) & (same.cover2 == 0)).expand_as(J1)
    assert both.any() and torch.allclose(same.It[both], (0.5 * (J1 + J3))[both], atol=1e-5)
    one = ((opp.cover1 == 0) & (opp.cover2 >= 1)).expand_as(J1)
    assert one.any() and torch.allclose(opp.It[one], opp.I2t[one], atol=1e-5)
    # no dark holes: it scores well above the same weights without filling
    with torch.no_grad(): raw = blend_init_(guided_anime_interp("small", "dis")).eval()(I1, I3).It
    assert _psnr(o.It, I2) > _psnr(raw, I2) + 1

def test_fill_holes_gradients():
    torch.manual_seed(0)
    args = [torch.rand(1, 3, 5, 6, dtype=torch.float64, requires_grad=True) for _ in range(4)]
    covers = [torch.rand(1, 1, 5, 6, dtype=torch.float64) * 1.5 for _ in range(2)]
    covers[0][..., 0, :] = 0
    assert torch.autograd.gradcheck(lambda a, b, c, d: fill_holes(a, b, c, d, *covers, 0.3), args)

def test_loss_and_gradients():
    ds = CelTriplets(2, size=(64, 64), gen_size=(96, 96))
    batch = {k: torch.stack([ds[0][k], ds[1][k]]) for k in ds[0]}
    torch.manual_seed(0)
    m = blend_init_(guided_anime_interp("small", "dis"))
    loss, logs = anime_loss(m, batch, flow_weight=0.01)
    assert torch.isclose(loss, logs["l1"] + 0.01 * logs["epe"], atol=1e-6)
    # the EPE is measured against the chosen targets (the two differ: the synthetic paths are not straight)
    _, le = anime_loss(m, batch, flow_weight=0.01, flow_target="endpoint")
    assert torch.isclose(le["l1"], logs["l1"]) and not torch.isclose(le["epe"], logs["epe"])
    loss.backward()
    assert all(p.grad is not None for n, p in m.named_parameters() if n.startswith(("synnet", "feat_ext")))
    assert m.flownet.update_block.flow_head.conv2.weight.grad.abs().sum() > 0   # zero-initialised, still learning

def test_guided_model_uses_its_guide():
    "Without guide flows the model computes DIS itself: the same output as passing DIS flows explicitly."
    torch.manual_seed(0)
    m = guided_anime_interp("small", "dis").eval()
    T = make_triplet(9, (96, 64), level=1)
    from synthlab.core import img2tensor
    I1, I3 = img2tensor([T.frame1, T.frame3]).split(1)
    g13, g31 = guide_tensors(I1, I3, "dis")
    with torch.no_grad(): a, b = m(I1, I3).It, m(I1, I3, g13, g31).It
    torch.testing.assert_close(a, b)

# ---------------------------------------------------------------- training loop: run, checkpoint, resume

def test_train_main_run_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert train_main(["anime-tiny", "--max-steps", "3", "--out", str(out), "--no-progress"]) == 0
    ck = load_checkpoint(out / "last.pt")
    assert ck["step"] == 3 and (out / "task.json").is_file()
    h = History.load(out / "history.json")
    assert [r["step"] for r in h if "loss" in r] == [1, 2, 3]
    assert all(np.isfinite(r["loss"]) for r in h if "loss" in r)
    # the weights changed, and the tiny run can be loaded as a model
    from synthlab.anime.train import load_run
    model, tcfg, hist = load_run(out)
    assert tcfg.size == (64, 64) and isinstance(model, GuidedAnimeInterp)
    assert model.cfg.flow_norm and model.cfg.guide_input                        # the recipe's model, as trained
    # an older run's task.json lacks the newer fields: they take the values runs had before them, not today's defaults
    tj = json.loads((out / "task.json").read_text())
    for k in ("flow_norm", "dark", "texture"): tj.pop(k)
    (out / "task.json").write_text(json.dumps(tj))
    old_model, old_tcfg, _ = load_run(out)
    assert not old_model.cfg.flow_norm and old_tcfg.texture == 0.0 and old_tcfg.dark == 0.0 and old_model.cfg.guide_input
    tj["flow_norm"] = True; (out / "task.json").write_text(json.dumps(tj))
    with pytest.raises(OverwriteError): train_main(["anime-tiny", "--max-steps", "3", "--out", str(out), "--no-progress"])
    assert train_main(["anime-tiny", "--max-steps", "4", "--out", str(out), "--resume", "--no-progress"]) == 0
    ck2 = load_checkpoint(out / "last.pt")
    assert ck2["step"] == 4
    assert [r["step"] for r in History.load(out / "history.json") if "loss" in r] == [1, 2, 3, 4]
    assert any(not torch.equal(ck["model"][k], ck2["model"][k]) for k in ck["model"])

def test_finetune_stages_ship_as_one_preset(tmp_path):
    from synthlab.anime.train import load_run, run_stages, ship, preset_history
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert train_main(["anime-tiny", "--max-steps", "2", "--out", str(a), "--no-progress"]) == 0
    assert train_main(["anime-tiny", "--max-steps", "3", "--init", str(a / "last.pt"), "--set", "size=96,96", "--out", str(b), "--no-progress"]) == 0
    # stage 2 started from stage 1's weights: with lr 0 it would keep them exactly
    assert train_main(["anime-tiny", "--max-steps", "1", "--init", str(b / "last.pt"), "--set", "lr_schedule='cosine'", "--set", "warmup_steps=5",
                       "--lr", "1e-12", "--out", str(c), "--no-progress"]) == 0
    mb, mc = load_run(b)[0], load_run(c)[0]
    assert all(torch.allclose(x, y, atol=1e-8) for x, y in zip(mb.state_dict().values(), mc.state_dict().values()))
    assert run_stages(c) == [a, b, c] and run_stages(a) == [a]
    card = ship(c, "tiny-ft", command="three commands", folder=tmp_path / "w")
    assert card.data.startswith("stage 1: ") and card.data.count("; stage ") == 2 and "stage 3 (fine-tuned from stage 2)" in card.data and "96x96, uncropped" in card.data
    steps = [(r["step"], r["stage"]) for r in preset_history("tiny-ft", tmp_path / "w") if "loss" in r]
    assert steps == [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2), (6, 3)]
    loaded = hub.load("tiny-ft", folder=tmp_path / "w")
    assert all(torch.equal(x, y) for x, y in zip(loaded.state_dict().values(), mc.state_dict().values()))
    # an init that is a preset or a plain weights file ends the chain, and the card says where the first stage started
    torch.save(mb.state_dict(), tmp_path / "w.pt")
    assert train_main(["anime-tiny", "--max-steps", "1", "--init", str(tmp_path / "w.pt"), "--out", str(tmp_path / "d"), "--no-progress"]) == 0
    assert run_stages(tmp_path / "d") == [tmp_path / "d"]
    assert f"started from {tmp_path / 'w.pt'}" in ship(tmp_path / "d", "tiny-d", folder=tmp_path / "w").data

# ---------------------------------------------------------------- the shipped preset

@pytest.fixture(scope="module")
def preset():
    try: c = hub.card("anime-small")
    except InputError: pytest.skip("anime-small preset not shipped")
    return c

def test_preset_card(preset):
    assert preset.builder == "synthlab.anime.train:guided_anime_interp"
    assert preset.config["guide"] in ("dis", "sgm", "zero") and preset.config["size"] == "small"
    assert preset.path.stat().st_size < 5 * 2 ** 20
    assert hub.file_sha256(preset.path) == preset.sha256
    assert "synthlab train anime" in preset.command and str(TRAIN_SEED_OFFSET) in preset.data
    for k in ("synth_easy/ours/psnr", "synth_medium/ours/psnr", "synth_hard/ours/psnr"): assert k in preset.metrics
    assert len(History.load(history_path("anime-small"))) > 0

def test_preset_loads_strictly_and_beats_averaging(preset):
    model = hub.load("anime-small")
    assert isinstance(model, GuidedAnimeInterp) and not model.training and model.guide == preset.config["guide"]
    # strict: the shipped state_dict has exactly the model's keys
    sd = torch.load(preset.path, map_location="cpu", weights_only=True)
    assert set(sd) == set(model.state_dict())
    # quality measured here, on held-out synthetic triplets (benchmark seeds, never trained on)
    from synthlab.core import img2tensor
    ours, avg = [], []
    for lv in (0, 1, 2):
        for T in heldout_triplets(lv, 2, (192, 128)):
            I1, I2, I3 = img2tensor(list(T.frames)).split(1)
            with torch.no_grad(): est = model(I1, I3).It
            ours.append(_psnr(est, I2)); avg.append(_psnr((I1 + I3) / 2, I2))
    assert np.mean(ours) > np.mean(avg) + 1.0, (ours, avg)

def test_preset_sha_mismatch_refused(preset, tmp_path):
    import shutil
    shutil.copy(preset.path, tmp_path / preset.file)
    shutil.copy(preset.path.with_suffix(".json"), tmp_path / "anime-small.json")
    with open(tmp_path / preset.file, "r+b") as f: f.seek(-8, 2); f.write(b"\0" * 8)
    with pytest.raises(CheckpointError, match="sha256"): hub.load("anime-small", folder=tmp_path)

def test_benchmark_table():
    m = {"aot/averaging/psnr": 31.9, "aot/averaging/ssim": 0.95, "aot/DIS/psnr": 32.4, "aot/DIS/ssim": 0.96}
    t = benchmark_table(m)
    assert "| aot | 31.90 / 0.950 | 32.40 / 0.960 |" in t
