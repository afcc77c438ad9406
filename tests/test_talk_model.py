"""PC-AVS assembled (synthlab.talk.model): config contracts, one generator pass per frame, and the whole official
pipeline against the reference fixture (weights from ../shared/reference/fill_weights.py, G with PCAVS_RULES)."""
import numpy as np
import pytest
import torch

from synthlab.core import CheckpointError, InputError, MissingFileError, ShapeError
from synthlab.talk.generator import GeneratorConfig
from synthlab.talk.model import PCAVS, PCAVSConfig, build_pcavs, load_official

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return PCAVS(PCAVSConfig.small()).eval()

def _inputs(B=3, S=128, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(1, 3, S, S, generator=g) * 2 - 1, torch.rand(B, 1, 80, 20, generator=g),
            torch.rand(B, 3, S, S, generator=g) * 2 - 1)


# ---------------------------------------------------------------- config
def test_style_dims_are_the_sum_of_the_codes():
    off, sm = PCAVSConfig.official(), PCAVSConfig.small()
    assert (off.style_dim, off.size) == (2048 + 500 + 12, 224)
    assert (sm.style_dim, sm.size) == (512 + 116 + 12, 128)
    assert PCAVSConfig(**sm.to_dict()) == sm

def test_inconsistent_configs_are_refused_with_the_reason():
    sm = PCAVSConfig.small()
    with pytest.raises(InputError, match="style_dim"):
        PCAVSConfig(sm.identity, sm.pose, sm.audio, GeneratorConfig.small(size=128, init_size=4, channels=(8,) * 6,
                                                                           style_dim=999, input_channels=128))
    with pytest.raises(InputError, match="init_size"):
        PCAVSConfig(sm.identity, sm.pose, sm.audio, GeneratorConfig.small())
    with pytest.raises(InputError, match="size must be"):
        build_pcavs("huge")


# ---------------------------------------------------------------- forward
def test_forward_exposes_codes_and_style_is_their_concatenation(small):
    idf, mel, pose = _inputs()
    with torch.no_grad(): o = small(idf, mel, pose, noise="buffers")
    assert o.image.shape == (3, 3, 128, 128) and o.image.abs().max() < 1
    assert torch.equal(o.style, torch.cat([o.id_vec, o.speech, o.pose], 1))
    assert torch.equal(o.id_vec[0], o.id_vec[2])                 # one identity frame shared by the batch

def test_each_code_changes_the_image_only_through_its_input(small):
    idf, mel, pose = _inputs()
    with torch.no_grad():
        a = small(idf, mel, pose, noise="buffers")
        b = small(idf, mel.flip(0), pose, noise="buffers")       # other audio: pose and identity codes unchanged
    assert torch.equal(a.pose, b.pose) and torch.equal(a.id_vec, b.id_vec) and not torch.equal(a.speech, b.speech)

def test_animate_equals_forward_with_one_generator_pass_per_frame(small, monkeypatch):
    idf, mel, pose = _inputs(B=5)
    with torch.no_grad(): ref = small(idf, mel, pose, noise="buffers").image
    calls = []
    orig = small.netG.forward
    monkeypatch.setattr(small.netG, "forward", lambda *a, **k: calls.append(a[0].shape[0]) or orig(*a, **k))
    out = small.animate(idf, mel, pose, batch=2, noise="buffers")
    assert sum(calls) == 5                                       # 5 frames → 5 generator rows, not 10
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)

def test_animate_without_pose_uses_the_identity_pose(small):
    idf, mel, _ = _inputs(B=2)
    out = small.animate(idf, mel, None, noise="buffers")
    with torch.no_grad(): ref = small(idf, mel, idf.expand(2, -1, -1, -1), noise="buffers").image
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)

def test_shape_errors_are_clear(small):
    idf, mel, pose = _inputs()
    with pytest.raises(ShapeError, match="batch"): small(idf, mel, pose[:2])
    with pytest.raises(ShapeError, match="pose frames"): small.animate(idf, mel, pose[:2])
    with pytest.raises((ShapeError, InputError)): small(idf, mel.transpose(2, 3), pose)

def test_gradients_reach_all_four_networks():
    torch.manual_seed(0)
    m = PCAVS(PCAVSConfig.small()).train()
    idf, mel, pose = _inputs(B=2)
    m(idf, mel, pose).image.square().mean().backward()
    for name in ("netV", "netE", "netA_sync", "netG"):
        grads = [p.grad for n, p in getattr(m, name).named_parameters() if p.grad is not None]
        assert grads and any(g.abs().sum() > 0 for g in grads), name


# ---------------------------------------------------------------- official checkpoints
@pytest.fixture(scope="module")
def official_dir(shared_reference, fill_weights, tmp_path_factory):
    if not (shared_reference / "pcavs/pcavs_reference.npz").exists(): pytest.skip("no PC-AVS fixture")
    d = tmp_path_factory.mktemp("pcavs_demo")
    fresh = PCAVS(PCAVSConfig.official())
    for letter, net in (("G", fresh.netG), ("V", fresh.netV), ("E", fresh.netE), ("A_sync", fresh.netA_sync)):
        sd = fill_weights.filled_state_dict(net.state_dict(), rules=fill_weights.PCAVS_RULES) if letter == "G" \
            else fill_weights.filled_state_dict(net.state_dict())
        torch.save(sd, d / f"latest_net_{letter}.pth")
    return d

def test_official_pipeline_matches_the_reference_outputs(official_dir, shared_reference):
    z = np.load(shared_reference / "pcavs/pcavs_reference.npz")
    m = load_official(official_dir)
    t = lambda k: torch.from_numpy(z[k].astype(np.float32))
    with torch.no_grad():
        drv = m(t("input_f32"), t("spectrograms"), t("pose_f32"), noise="buffers")
        refp = m(t("input_f32"), t("spectrograms"), t("input_f32"), noise="buffers")   # the ref-pose stream
    for out, key in ((drv.image, "out_driven_det"), (refp.image, "out_ref_pose_det")):
        err = (out - t(key)).abs()
        assert err.max() <= 1e-3 and err.mean() <= 1e-4, (key, err.max().item(), err.mean().item())
    torch.testing.assert_close(drv.style, t("style_drv"), rtol=1e-4, atol=1e-4)

def test_official_loader_errors(official_dir, tmp_path):
    with pytest.raises(MissingFileError, match="lacks latest_net_G.pth"): load_official(tmp_path)
    with pytest.raises(MissingFileError, match="not a folder"): load_official(tmp_path / "nope")
    import shutil
    for f in official_dir.iterdir(): shutil.copy(f, tmp_path / f.name)
    shutil.copy(official_dir / "latest_net_V.pth", tmp_path / "latest_net_G.pth")   # V's weights in G's file
    with pytest.raises(CheckpointError, match="not a PC-AVS generator"): load_official(tmp_path)
