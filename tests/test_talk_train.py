"""Training PC-AVS (synthlab.talk.train): gradient routing of the GAN step, the re-rendered pose source, the
registered tasks through the one loop (run, resume, ship as a preset)."""
import json
import numpy as np
import pytest
import torch

from synthlab.core import CheckpointError, InputError, OverwriteError
from synthlab.talk.losses import discriminator_losses, generator_losses
from synthlab.talk.model import build_pcavs
from synthlab.talk.data import POSE_LIMITS, SyntheticTalkDataset
from synthlab.talk.train import (POSE_AUGS, RECIPES, TalkGAN, TalkTaskConfig, _Remouth, _Repose, _WithTargetAug, frozen, load_run, mouth_mask,
                                 ship, talk_items, talk_loss)
from synthlab.train import train_main

torch.set_num_threads(1)
TINY = TalkTaskConfig(n_identities=2, clips_per_identity=2, n_frames=4, val_identities=1)


@pytest.fixture(scope="module")
def batch():
    ds = talk_items("train", TINY)
    return torch.utils.data.default_collate([ds[i] for i in range(4)])

def test_items_pose_source_is_a_rerender_with_the_same_pose(batch):
    ds = talk_items("train", TINY)
    it = ds[3]
    assert it["pose_source"].shape == it["target"].shape == (3, 128, 128)
    assert (it["pose_source"] - it["target_aug"]).abs().mean() > 0.01
    off = talk_items("train", TalkTaskConfig(**{**TINY.__dict__, "pose_source": "target"}))
    assert torch.equal(off[3]["pose_source"], off[3]["target_aug"])       # the official recipe: augmented target

def test_recipes():
    assert RECIPES["official"]["contrastive"] == 100 and RECIPES["official"]["gan"] == 1
    assert not TalkTaskConfig().uses_D and TalkTaskConfig(recipe="official").uses_D
    with pytest.raises(InputError, match="recipe"): TalkTaskConfig(recipe="magic")
    with pytest.raises(InputError, match="pose_source"): TalkTaskConfig(pose_source="mirror")
    with pytest.raises(InputError, match="pose_aug"): TalkTaskConfig(pose_aug="rotate")
    assert TalkTaskConfig().pose_aug == "photometric"

def _edges(x):
    g = x.mean(0).numpy()
    return np.hypot(np.diff(g, axis=0)[:, :-1], np.diff(g, axis=1)[:-1]).ravel()

def test_photometric_pose_source_keeps_the_geometry_pcavs_moves_it():
    # the same re-render (same mouth, blink) without augmentation, photometric only, and PC-AVS's full set
    clean = _Remouth(_WithTargetAug(SyntheticTalkDataset("train", 2, 2, 4, 128, seed=0, with_mel=True, augment=False)), 0)
    aug = {a: talk_items("train", TalkTaskConfig(**{**TINY.__dict__, "pose_aug": a})) for a in POSE_AUGS}
    for i in (0, 5, 9, 14):
        ref = _edges(clean[i]["pose_source"])
        r = {a: np.corrcoef(_edges(ds[i]["pose_source"]), ref)[0, 1] for a, ds in aug.items()}
        assert r["photometric"] > 0.75 and r["pcavs"] < 0.3, (i, r)
        assert not torch.equal(aug["photometric"][i]["pose_source"], clean[i]["pose_source"])   # it is augmented

def test_pose_anchor_is_each_angle_over_its_range(batch):
    torch.manual_seed(0)
    gan = TalkGAN(build_pcavs("small"), use_D=False).eval()             # eval: no dropout, so the code can be recomputed
    _, logs = talk_loss(gan, batch, RECIPES["recon"])
    with torch.no_grad(): code = gan.model.encode_pose(batch["pose_source"])[:, :3]
    want = (code - batch["pose"] / torch.tensor(POSE_LIMITS)).pow(2).mean()
    assert logs["pose_code"] == pytest.approx(float(want), rel=1e-4)
    assert logs["pose_code"] != pytest.approx(float((code - batch["pose"] / 30).pow(2).mean()), rel=1e-2)

def test_generator_terms_leave_D_alone_and_D_term_leaves_G_alone(batch):
    torch.manual_seed(0)
    gan = TalkGAN(build_pcavs("small"))
    m = gan.model
    fake = m(batch["identity"], batch["mel"], batch["pose_source"]).image
    with frozen(gan.D): generator_losses(gan.D, fake, batch["target"])["loss"].backward(retain_graph=True)
    assert all(p.grad is None for p in gan.D.parameters())
    assert all(p.requires_grad for p in gan.D.parameters())             # restored after the block
    assert m.netG.conv1.conv.weight.grad is not None
    m.zero_grad(set_to_none=True)
    discriminator_losses(gan.D, fake, batch["target"])["loss"].backward()
    assert all(p.grad is None for p in m.parameters())

def test_talk_loss_official_recipe_trains_everything(batch):
    torch.manual_seed(0)
    gan = TalkGAN(build_pcavs("small"))
    loss, logs = talk_loss(gan, batch, RECIPES["official"])
    loss.backward()
    assert np.isfinite(loss.item()) and {"g_gan", "g_feat", "g_sync_v2a", "g_sync_a2v", "d_real", "d_fake", "l1"} <= set(logs)
    assert all(p.grad is not None for p in gan.D.parameters())
    assert gan.model.netE.to_mouth[0].weight.grad is not None                # the contrastive term reaches E's speech head

def test_recon_recipe_needs_no_discriminator(batch):
    gan = TalkGAN(build_pcavs("small"), use_D=False)
    loss, logs = talk_loss(gan, batch, RECIPES["recon"])
    assert "g_gan" not in logs and "l1" in logs
    # recon loss = 10·L1 + 20·mouth-box L1 + 10·mouth-code MSE + contrastive terms at weight 1 (no cross-modal term)
    assert "g_crossmodal" not in logs
    assert loss.item() == pytest.approx(10 * logs["l1"] + 20 * logs["mouth_l1"] + 10 * logs["mouth_code"] + 10 * logs["pose_code"]
                                        + logs["g_sync_v2a"] + logs["g_sync_a2v"], rel=1e-4)
    loss0, logs0 = talk_loss(gan, batch, {**RECIPES["recon"], "mouth_code": 0.0})
    assert "mouth_code" not in logs0
    with pytest.raises(InputError, match="discriminator"): talk_loss(gan, batch, RECIPES["official"])

def test_tiny_run_resumes_and_ships(tmp_path):
    out = tmp_path / "run"
    assert train_main(["talk-tiny", "--out", str(out), "--no-progress"]) == 0
    assert (out / "last.pt").exists() and json.loads((out / "task.json").read_text())["recipe"] == "official"
    assert train_main(["talk-tiny", "--out", str(out), "--no-progress", "--max-steps", "3", "--resume"]) == 0
    model, tcfg, hist = load_run(out)
    assert hist.records[-1]["step"] == 3
    card = ship(out, name="talk-test", folder=tmp_path / "w", command="synthlab train talk-tiny")
    from synthlab.hub import load
    loaded = load("talk-test", folder=tmp_path / "w")
    sd = loaded.state_dict()
    assert set(sd) - set(model.state_dict()) == {"netV.sub_mean", "netV.sub_basis"}           # + the fitted identity subspace
    for k, a in model.state_dict().items():                                                  # shipped in float16
        torch.testing.assert_close(sd[k], a.half().to(a.dtype) if a.is_floating_point() else a, rtol=0, atol=0, msg=k)
    assert "TRAIN identities" in card.data and "identity subspace: the 4 principal directions" in card.data
    assert card.config["identity"]["subspace"] == tcfg.identity_subspace == 4
    with pytest.raises(OverwriteError): ship(out, name="talk-test", folder=tmp_path / "w")

def test_fit_identity_subspace_keeps_the_principal_directions_of_train_vectors():
    """The preset's net V = the trained one followed by the projection onto the top-k principal directions of the
    TRAIN identity vectors (every frame of each person's first clip): those vectors' residual is orthogonal to them."""
    from synthlab.talk.train import fit_identity_subspace
    from synthlab.talk.data import _to_pm1
    tcfg = TalkTaskConfig(**{**TINY.__dict__, "identity_subspace": 3})
    assert tcfg.preset_kwargs == {"size": "small", "identity": {"flip_average": True, "subspace": 3}}
    assert TalkTaskConfig(identity_subspace=0).preset_kwargs == TalkTaskConfig().build_kwargs
    torch.manual_seed(0)
    trained = build_pcavs(**tcfg.build_kwargs).eval()
    preset, kept = fit_identity_subspace(trained, tcfg)
    assert 0 < kept <= 1 and preset.netV.cfg.subspace == 3
    ds = SyntheticTalkDataset("train", 2, 2, 4, 128, seed=0, with_mel=False)
    x = torch.stack([_to_pm1(f) for k in (0, 2) for f in ds.clip(k).frames])
    with torch.no_grad():
        v, w = trained.encode_identity(x).vec, preset.encode_identity(x).vec
    torch.testing.assert_close(w, preset.netV.project(v))
    B, mu = preset.netV.sub_basis, preset.netV.sub_mean
    torch.testing.assert_close(mu, v.mean(0), atol=1e-4, rtol=1e-4)                  # the mean of exactly those vectors
    assert float(((v - w) @ B.T).abs().max()) < 1e-3                                 # residuals orthogonal to the basis
    resid = float((v - w).pow(2).sum() / (v - v.mean(0)).pow(2).sum())
    assert resid == pytest.approx(1 - kept, abs=1e-4)                                # what is dropped is 1 - kept
    with pytest.raises(CheckpointError, match="layout"):
        fit_identity_subspace(build_pcavs(size="small", identity={"flip_average": True, "subspace": 3}), tcfg)

def test_mouth_mask_is_the_landmark_box_with_margin():
    lm = torch.zeros(2, 68, 2)
    lm[:, 48:68, 0] = torch.linspace(10, 20, 20); lm[:, 48:68, 1] = torch.linspace(30, 34, 20)
    lm[:, :48] = 60                                                   # other landmarks never count
    m = mouth_mask(lm, 64, margin=1)
    assert m.shape == (2, 1, 64, 64) and m[0].sum() == 13 * 7         # x 9..21, y 29..35
    assert m[0, 0, 29, 9] == 1 and m[0, 0, 28, 9] == 0 and m[0, 0, 29, 22] == 0

def test_viseme_head_cross_entropy_known_value_and_errors(batch):
    torch.manual_seed(0)
    gan = TalkGAN(build_pcavs("small"), use_D=False, viseme_head=True).eval()
    loss, logs = talk_loss(gan, batch, RECIPES["recon-viseme"])
    with torch.no_grad():
        speech = gan.model.encode_speech(batch["mel"])[1]
        want = torch.nn.functional.cross_entropy(gan.viseme_head(speech), batch["viseme"].long())
    assert logs["viseme_ce"] == pytest.approx(float(want), rel=1e-5)
    loss.backward()
    assert gan.viseme_head.weight.grad is not None and gan.model.netA_sync is not None
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in gan.model.netA_sync.parameters())   # it trains the audio side
    head = {id(p) for p in gan.viseme_head.parameters()}
    assert head <= {id(p) for g in gan.param_groups() for p in g["params"]}                                # the optimiser sees it
    with pytest.raises(InputError, match="viseme_head"): talk_loss(TalkGAN(build_pcavs("small"), use_D=False), batch, RECIPES["recon-viseme"])
    assert "viseme_ce" not in talk_loss(gan, batch, RECIPES["recon"])[1]

def test_viseme_task_builds_the_head():
    from synthlab.train import get_task
    spec = get_task("talk-viseme")({"max_steps": 1})
    assert spec["model"].viseme_head is not None and spec["task"].recipe == "recon-viseme"
    assert get_task("talk")({"max_steps": 1})["model"].viseme_head is None

def test_identity_pose_adversary_term(batch):
    """recon-disentangle: a ridge probe refitted on the bank of earlier identity vectors reads the identity frame's pose
    ÷ range from this batch's vectors, and net V pays the decorrelation of that reading with the truth."""
    from synthlab.talk.losses import ProbeAdversary, decorrelation_loss, ridge_fit
    torch.manual_seed(0)
    w = RECIPES["recon-disentangle"]
    assert w["id_pose"] > 0 and {k: v for k, v in w.items() if k != "id_pose"} == RECIPES["recon"]
    gan = TalkGAN(build_pcavs("small"), use_D=False, pose_adversary=True).eval()
    assert gan.pose_adversary.bank_x.shape[1] == gan.model.cfg.identity.vec_dim and gan.pose_adversary.min_rows == 256
    assert len(gan.param_groups()) == 1                                             # no parameters: nothing to optimise
    gan.pose_adversary = ProbeAdversary(gan.model.cfg.identity.vec_dim, 3, bank=16, min_rows=4)   # small, to fill in one batch
    loss0, logs0 = talk_loss(gan, batch, w)
    assert "probe_leak" not in logs0 and gan.pose_adversary.rows == 4               # the first batch only fills the bank
    with torch.no_grad():
        vec = gan.model.encode_identity(batch["identity"]).vec
        y = batch["identity_pose"] / torch.tensor(POSE_LIMITS)
        want, table = decorrelation_loss(ridge_fit(vec, y)(vec), y, ema=torch.zeros(3, 3))
    gan.zero_grad()
    loss, logs = talk_loss(gan, batch, w)
    assert logs["probe_leak"] == pytest.approx(float(want), rel=1e-3) and gan.pose_adversary.rows == 8
    torch.testing.assert_close(gan.pose_adversary.corr, table, atol=1e-4, rtol=1e-3)
    loss.backward()
    assert next(gan.model.netV.parameters()).grad is not None
    assert "probe_leak" not in talk_loss(gan, batch, RECIPES["recon"])[1]
    with pytest.raises(InputError, match="pose_adversary"): talk_loss(TalkGAN(build_pcavs("small"), use_D=False), batch, w)
    with pytest.raises(InputError, match="identity_pose"):
        talk_loss(gan, {k: v for k, v in batch.items() if k != "identity_pose"}, w)

def test_identity_invariance_term(batch):
    """recon-invariant: recon-disentangle plus the Fisher ratio of the identity vectors of the identity frame and the
    target frame (same person), with gradient into net V."""
    from synthlab.talk.losses import invariance_loss
    torch.manual_seed(0)
    w = RECIPES["recon-invariant"]
    assert w["id_inv"] > 0 and w["pose_code"] == 3 * RECIPES["recon-disentangle"]["pose_code"]
    assert {k: v for k, v in w.items() if k not in ("id_inv", "pose_code")} == {k: v for k, v in RECIPES["recon-disentangle"].items() if k != "pose_code"}
    gan = TalkGAN(build_pcavs("small"), use_D=False, pose_adversary=True).eval()
    with torch.no_grad():
        m = gan.model
        want = invariance_loss(m.encode_identity(batch["identity"]).vec, m.encode_identity(batch["target"]).vec)
    loss, logs = talk_loss(gan, batch, w)
    assert logs["id_inv"] == pytest.approx(float(want), rel=1e-4) and logs["id_inv"] > 0
    base, _ = talk_loss(gan, batch, {**w, "id_inv": 0.0})
    assert float(loss - base) == pytest.approx(w["id_inv"] * float(want), rel=1e-3)
    gan.zero_grad(); loss.backward()
    assert next(gan.model.netV.parameters()).grad is not None
    assert "id_inv" not in talk_loss(gan, batch, RECIPES["recon-disentangle"])[1]

def test_repose_item_changes_the_pose_only():
    """identity_repose is the identity frame's person, mouth and blink re-rendered in the target's head pose: rendered in
    the identity frame's own pose it is the identity frame, pixel for pixel."""
    from synthlab.talk.data import render_face
    tcfg = TalkTaskConfig(**{**TINY.__dict__, "recipe": "recon-repose"})
    ds = talk_items("train", tcfg)
    assert isinstance(ds.base, _Repose) and "identity_repose" not in talk_items("train", TalkTaskConfig(**{**TINY.__dict__, "recipe": "recon-invariant"}))[0]
    it = ds[5]
    src, t2 = ds.base.clip(int(it["identity_clip"])), int(it["identity_frame"])
    px = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1).float() / 127.5 - 1
    same, _ = render_face(src.identity, src.pose[t2], src.mouth[t2], float(src.blink[t2]), size=128)
    assert torch.equal(px(same), it["identity"])                                     # the re-render is exact
    want, _ = render_face(src.identity, it["pose"].numpy(), src.mouth[t2], float(src.blink[t2]), size=128)
    assert torch.equal(px(want), it["identity_repose"])                              # ... and only the pose moved
    assert not np.allclose(it["pose"].numpy(), it["identity_pose"].numpy())
    assert (it["identity_repose"] - it["identity"]).abs().mean() > 0.005

def test_pose_only_invariance_term(batch):
    "recon-repose: recon-invariant plus the Fisher ratio of the identity vectors of the identity frame and its re-posed render."
    from synthlab.talk.losses import invariance_loss
    torch.manual_seed(0)
    w = RECIPES["recon-repose"]
    assert w["id_repose"] > 0 and {k: v for k, v in w.items() if k != "id_repose"} == RECIPES["recon-invariant"]
    ds = talk_items("train", TalkTaskConfig(**{**TINY.__dict__, "recipe": "recon-repose"}))
    b = torch.utils.data.default_collate([ds[i] for i in range(4)])
    gan = TalkGAN(build_pcavs("small"), use_D=False, pose_adversary=True).eval()
    with torch.no_grad():
        m = gan.model
        want = invariance_loss(m.encode_identity(b["identity"]).vec, m.encode_identity(b["identity_repose"]).vec)
    loss, logs = talk_loss(gan, b, w)
    assert logs["id_repose"] == pytest.approx(float(want), rel=1e-4) and 0 < logs["id_repose"]
    base, _ = talk_loss(gan, b, {**w, "id_repose": 0.0})
    assert float(loss - base) == pytest.approx(w["id_repose"] * float(want), rel=1e-3)
    gan.zero_grad(); loss.backward()
    assert next(gan.model.netV.parameters()).grad is not None
    with pytest.raises(InputError, match="identity_repose"):
        talk_loss(gan, {k: v for k, v in b.items() if k != "identity_repose"}, w)

def test_disentangle_task_and_training_state_stay_out_of_the_preset(tmp_path):
    from synthlab.train import get_task
    spec = get_task("talk")({"max_steps": 1})                                      # the shipped recipe has the adversary
    assert spec["task"].recipe == "recon-repose" and spec["model"].pose_adversary is not None
    assert spec["task"].identity_flip and spec["model"].model.netV.cfg.flip_average
    assert "identity_repose" in spec["train_ds"][0]                               # the pose-only pair is in every item
    inv = get_task("talk-invariant")({"max_steps": 1})                             # the previous preset's recipe
    assert inv["task"].recipe == "recon-invariant" and inv["model"].model.netV.cfg.flip_average
    assert "identity_repose" not in inv["train_ds"][0]
    recon = get_task("talk-recon")({"max_steps": 1})
    assert recon["task"].recipe == "recon" and recon["model"].pose_adversary is None and not recon["task"].identity_flip
    dis = get_task("talk-disentangle")({"max_steps": 1})
    assert dis["task"].recipe == "recon-disentangle" and not dis["model"].model.netV.cfg.flip_average
    keys = set(spec["model"].state_dict())
    assert {"pose_adversary.bank_x", "pose_adversary.corr", "pose_adversary.seen"} <= keys      # resumable
    assert not any(k.startswith("model.") and "adversary" in k for k in keys)


def test_identity_flip_reaches_the_model_and_the_card_kwargs(tmp_path):
    from synthlab.train import get_task
    assert TalkTaskConfig(identity_flip=False).build_kwargs == {"size": "small"}
    kw = TalkTaskConfig(identity_flip=True).build_kwargs
    assert kw == {"size": "small", "identity": {"flip_average": True}}
    assert build_pcavs(**kw).netV.cfg.flip_average
    spec = get_task("talk")({"max_steps": 1})
    assert spec["model"].model.netV.cfg.flip_average == spec["task"].identity_flip
