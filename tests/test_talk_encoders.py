"""PC-AVS encoders (synthlab.talk.encoders) against the official code's reference fixture, plus unit tests.

The fixture (../shared/reference/pcavs) holds intermediates of the official PC-AVS run with deterministic weights;
`fill_weights.py` regenerates those weights from each key (default rules for V, E and A_sync). We write them as
`latest_net_{V,E,A_sync}.pth`, load them through `load_official_encoders` and compare with the README's tolerances
(features rtol/atol 1e-4; the fp16-stored identity map to its fp16 quantisation).
"""
from dataclasses import asdict
import numpy as np
import pytest
import torch

from synthlab.core import CheckpointError, InputError, MissingFileError, ShapeError
from synthlab.talk.encoders import (AudioEncoder, AudioEncoderConfig, FanConvBlock, HourGlass, IdentityEncoder,
                                    IdentityEncoderConfig, PCAVSEncoders, PoseEncoder, PoseEncoderConfig, SELayer,
                                    count_params, load_official_encoders, load_official_net, official_encoder)

torch.set_num_threads(1)
NETS = ("V", "E", "A_sync", "A")
OFFICIAL_PARAMS = {"V": 38_023_662, "E": 14_285_643, "A_sync": 10_364_434, "A": 40_955_410}   # NOTES.md §1.8


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def ref_dir(shared_reference):
    p = shared_reference / "pcavs"
    if not (p / "pcavs_reference.npz").exists(): pytest.skip(f"PC-AVS reference fixture not present at {p}")
    return p

@pytest.fixture(scope="module")
def official_keys(ref_dir):
    "{net: [(key, shape, dtype)]} in file order, from state_dict_keys.tsv."
    out = {}
    for line in (ref_dir / "state_dict_keys.tsv").read_text().splitlines()[1:]:
        if not line.strip(): continue
        net, key, shp, dtype = line.split("\t")
        out.setdefault(net, []).append((key, () if shp == "scalar" else tuple(int(s) for s in shp.split("x")), dtype))
    return out

@pytest.fixture(scope="module")
def ref(ref_dir):
    return {k: torch.from_numpy(v) for k, v in np.load(ref_dir / "pcavs_reference.npz").items()}

@pytest.fixture(scope="module")
def ckpt_dir(official_keys, fill_weights, tmp_path_factory):
    "The demo checkpoint folder as fill_weights.py regenerates it: latest_net_{V,E,A_sync}.pth, plain state_dicts."
    d = tmp_path_factory.mktemp("pcavs_demo")
    for net in ("V", "E", "A_sync"):
        sd = {k: fill_weights.fill_tensor(k, shp, getattr(torch, dt)) for k, shp, dt in official_keys[net]}
        torch.save(sd, d / f"latest_net_{net}.pth")
    return d

@pytest.fixture(scope="module")
def encoders(ckpt_dir):
    return load_official_encoders(ckpt_dir)

@pytest.fixture(scope="module")
def ref_out(encoders, ref):
    """One pass of each official net over the fixture inputs (NOTES §1.9: E sees the identity frame for the reference
    pose, each pose-source frame for the driven pose)."""
    with torch.no_grad():
        return dict(v=encoders.identity(ref["input_f32"]), e_ref=encoders.pose(ref["input_f32"]),
                    e_drv=encoders.pose(ref["pose_f32"]), a=encoders.audio(ref["spectrograms"]))

@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return (IdentityEncoder(IdentityEncoderConfig.small()), PoseEncoder(PoseEncoderConfig.small()),
            AudioEncoder(AudioEncoderConfig.small()))

def meta_encoder(net):
    with torch.device("meta"): return official_encoder(net)

def close(ours, theirs, rtol=1e-4, atol=1e-4):
    torch.testing.assert_close(ours, theirs.float(), rtol=rtol, atol=atol)


# ---------------------------------------------------------------- the official layout
@pytest.mark.parametrize("net", NETS)
def test_state_dict_is_the_official_layout(net, official_keys):
    "Same keys, in the same order, with the same shapes and dtypes as the official modules."
    sd = meta_encoder(net).state_dict()
    ours = [(k, tuple(v.shape), str(v.dtype).replace("torch.", "")) for k, v in sd.items()]
    assert ours == official_keys[net]

@pytest.mark.parametrize("net", NETS)
def test_official_parameter_counts(net):
    assert count_params(meta_encoder(net)) == OFFICIAL_PARAMS[net]

def test_small_presets_are_small_and_consistent(small):
    v, e, a = small
    assert all(2e5 < count_params(m) < 2e6 for m in small)
    assert a.cfg.n_out == e.cfg.feat_dim                     # speech_code takes the audio feature
    assert v.cfg.vec_dim + e.cfg.feat_dim == 640             # style = id vec + speech code + pose code


# ---------------------------------------------------------------- against the official code (filled weights)
def test_loader_returns_eval_nets(encoders):
    assert isinstance(encoders, PCAVSEncoders) and encoders.audio_id is None
    assert not any(m.training for m in (encoders.identity, encoders.pose, encoders.audio))

def test_identity_matches_fixture(ref_out, ref):
    "Net V on the identity frame: the 2048-d vector (fp32) and the 512x7x7 map (stored fp16: 1 fp16 step)."
    f = ref_out["v"]
    close(f.vec, ref["id_feature_vec"][:1])
    close(f.map, ref["id_feature_map"][:1], rtol=1e-3, atol=1e-4)     # fp16 spacing is 2^-10 relative
    assert (f.map - ref["id_feature_map"][:1].float()).abs().max() > 0   # really quantised: the test can fail

def test_pose_matches_fixture_reference_and_driven(ref_out, ref):
    "Net E: the reference pose comes from the identity frame, the driven pose from each pose-source frame."
    r, d = ref_out["e_ref"], ref_out["e_drv"]
    close(r.noid, ref["ref_noid"][:1, 0]); close(r.headpose, ref["ref_headpose"][:1, 0]); close(r.pose, ref["pose_code_ref"][:1, 0])
    close(d.noid, ref["drv_noid"][:, 0]); close(d.headpose, ref["drv_headpose"][:, 0]); close(d.pose, ref["pose_code_drv"][:, 0])
    assert (d.pose[1:] - d.pose[:1]).abs().max() > 1e-2          # different pose frames give different codes

def test_audio_matches_fixture(ref_out, ref):
    f = ref_out["a"]
    close(f.feature, ref["A_mouth_feature"][:, 0])
    torch.testing.assert_close(f.attention.sum(-1), torch.ones(4, 2560))

def test_style_composition_matches_fixture(encoders, ref_out, ref):
    "style = [id vec | mouth_embed(1.2 · audio) | pose code of the pose frame]: checks speech_code (mouth_embed) too."
    with torch.no_grad():
        speech = encoders.pose.speech_code(ref_out["a"].feature)
        style = torch.cat([ref_out["v"].vec.expand(4, -1), speech, ref_out["e_drv"].pose], 1)
    assert style.shape == (4, 2560)
    close(style, ref["style_drv"])


# ---------------------------------------------------------------- loading errors
def test_wrong_net_file_is_named(ckpt_dir):
    "net E's file given to net V: missing and unexpected keys are listed, and the file is recognised as net E."
    with pytest.raises(CheckpointError) as ei: load_official_net(official_encoder("V"), ckpt_dir / "latest_net_E.pth")
    msg = str(ei.value)
    assert "missing from the checkpoint" in msg and "unexpected in the checkpoint" in msg
    assert "model.layer1.0.conv1.weight" in msg and "model.conv2.bn1.weight" in msg      # V's keys missing, E's unexpected
    assert "holds the weights of PC-AVS net E (latest_net_E.pth), not of net V" in msg and "pass latest_net_V.pth" in msg
    assert "possibly renamed" not in msg

def test_other_size_and_truncated_files(tmp_path, small):
    torch.save(small[2].state_dict(), tmp_path / "small.pth")
    with pytest.raises(CheckpointError, match="shape mismatch"): load_official_net(meta_encoder("A_sync"), tmp_path / "small.pth")
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError): load_official_net(small[2], tmp_path / "bad.pth")
    with pytest.raises(MissingFileError, match="lacks latest_net_V.pth, latest_net_E.pth"): load_official_encoders(tmp_path)
    with pytest.raises(InputError, match="unknown PC-AVS encoder"): official_encoder("G")

def test_prefixed_and_small_checkpoints_load(tmp_path, small):
    "A DataParallel `module.` prefix is stripped; a small net's own file loads back exactly."
    v = small[0]
    torch.save({"module." + k: t for k, t in v.state_dict().items()}, tmp_path / "v.pth")
    v2 = load_official_net(IdentityEncoder(IdentityEncoderConfig.small()), tmp_path / "v.pth")
    for (k, a), b in zip(v.state_dict().items(), v2.state_dict().values()): assert torch.equal(a, b), k


# ---------------------------------------------------------------- known values and invariants
def test_se_layer_with_zero_weights_halves():
    "All-zero SE weights give sigmoid(0) = 1/2 for every channel."
    se = SELayer(16, 8)
    for p in se.parameters(): torch.nn.init.zeros_(p)
    x = torch.randn(2, 16, 5, 3)
    torch.testing.assert_close(se(x), x / 2)

def test_sap_with_flat_attention_is_the_time_mean(small):
    "Zero attention logits: softmax weights 1/T, so the feature is fc(mean over time of the trunk)."
    a = AudioEncoder(AudioEncoderConfig.small()).eval()
    torch.nn.init.zeros_(a.model.attention[3].weight); torch.nn.init.zeros_(a.model.attention[3].bias)
    mel = torch.rand(2, 1, 80, 20)
    m = a.model
    with torch.no_grad():
        trunk = m.layer4(m.layer3(m.layer2(m.layer1(m.bn1(torch.relu(m.conv1(mel)))))))
        assert trunk.shape == (2, 128, 10, 3)
        want = m.fc(trunk.reshape(2, -1, 3).mean(-1))
        f = a(mel)
    torch.testing.assert_close(f.attention, torch.full((2, 1280, 3), 1 / 3))
    torch.testing.assert_close(f.feature, want)

def test_fan_block_concatenates_half_quarter_quarter():
    "With an identity shortcut and zero convs, a FAN block is the identity; its convs give out/2, out/4, out/4 channels."
    blk = FanConvBlock(8, 8).eval()
    assert [c.out_channels for c in (blk.conv1, blk.conv2, blk.conv3)] == [4, 2, 2] and blk.downsample is None
    for c in (blk.conv1, blk.conv2, blk.conv3): torch.nn.init.zeros_(c.weight)
    x = torch.randn(1, 8, 6, 6)
    torch.testing.assert_close(blk(x), x)

def test_hourglass_of_a_constant_is_constant():
    """Zero convs make every FAN block the identity; bilinear upsampling (align_corners=False) keeps a constant, so each
    of the `depth` levels adds its input once more: depth 2 turns 0.5 into 0.5 + (0.5 + 0.5) = 1.5."""
    hg = HourGlass(2, 8).eval()
    for m in hg.modules():
        if isinstance(m, torch.nn.Conv2d): torch.nn.init.zeros_(m.weight)
    torch.testing.assert_close(hg(torch.full((1, 8, 8, 8), 0.5)), torch.full((1, 8, 8, 8), 1.5))
    torch.testing.assert_close(hg(torch.full((1, 8, 7, 7), 0.5)), torch.full((1, 8, 7, 7), 1.5))   # odd sizes floor, then come back

def test_identity_vec_is_layer4_mean_and_frames_average(small):
    v = small[0].eval()
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad(): f, f3 = v(x), v(x[None])
    torch.testing.assert_close(f.vec, f.layer4.mean((2, 3)))
    torch.testing.assert_close(f3.vec[0], f.vec.mean(0)); torch.testing.assert_close(f3.map[0], f.map.mean(0))
    assert f.map.shape == (3, 128, 4, 4) and f3.layer4.shape == (1, 3, 512, 2, 2)

def test_identity_flip_average_is_mirror_invariant(small):
    "flip_average: the vector of a frame and of its mirror are equal, = the mean of the plain encoder's two vectors; the map stays the frame's."
    plain = small[0].eval()
    flip = IdentityEncoder(IdentityEncoderConfig.small(), flip_average=True).eval()
    flip.load_state_dict(plain.state_dict())                       # same parameters: only the forward differs
    assert not IdentityEncoderConfig().flip_average and not IdentityEncoderConfig.small().flip_average   # PC-AVS: off
    torch.manual_seed(0); x = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        a, b, p, pm = flip(x), flip(x.flip(-1)), plain(x), plain(x.flip(-1))
        a5 = flip(x[None])
    torch.testing.assert_close(a.vec, b.vec, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a.vec, (p.vec + pm.vec) / 2, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a.map, p.map); torch.testing.assert_close(a.layer4, p.layer4)
    torch.testing.assert_close(a5.vec[0], a.vec.mean(0), atol=1e-5, rtol=1e-5)   # N reference frames still average
    assert (p.vec - pm.vec).abs().max() > 1e-3                     # without it the mirror changes the vector

def test_identity_subspace_projects_the_vector(small):
    """subspace=k: the vector is moved onto mean + span(k orthonormal rows). Before fitting, the rows are the first k
    axes (a known value); `fit_subspace` puts them on the principal directions; the map is untouched."""
    plain = small[0].eval()
    sub = IdentityEncoder(IdentityEncoderConfig.small(), subspace=3).eval()
    assert sub.load_state_dict(plain.state_dict(), strict=False).missing_keys == ["sub_mean", "sub_basis"]
    assert IdentityEncoderConfig().subspace == 0 and not any(k.startswith("sub_") for k in plain.state_dict())   # PC-AVS: off
    torch.manual_seed(0); x = torch.rand(6, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        p, s = plain(x), sub(x)
    want = p.vec.clone(); want[:, 3:] = 0                                   # unfitted: the first 3 axes
    torch.testing.assert_close(s.vec, want); torch.testing.assert_close(s.map, p.map)
    # vectors on a 3-d affine subspace: the fit finds it (all variance kept) and projects them onto themselves
    g = torch.Generator().manual_seed(1)
    basis, mu = torch.linalg.qr(torch.randn(512, 3, generator=g, dtype=torch.float64))[0].T, torch.randn(512, generator=g, dtype=torch.float64)
    v = mu + torch.randn(50, 3, generator=g, dtype=torch.float64) @ basis
    assert sub.fit_subspace(v.float()) == pytest.approx(1.0, abs=1e-6)
    torch.testing.assert_close(sub.project(v.float()), v.float(), atol=1e-4, rtol=1e-4)
    off = v[:1].float() + torch.randn(1, 512, generator=g)                  # off the subspace: its orthogonal projection
    r = off - sub.project(off)
    assert float((r @ sub.sub_basis.T).abs().max()) < 1e-4 and float(r.norm()) > 1
    with torch.no_grad():
        s2 = sub(x)
    torch.testing.assert_close(s2.vec, sub.project(p.vec))                  # forward = project(plain vector)
    torch.testing.assert_close(sub.project(s2.vec), s2.vec, atol=1e-4, rtol=1e-4)   # idempotent

def test_identity_subspace_errors(small):
    for bad in (-1, 513, True):
        with pytest.raises(InputError, match="subspace"): IdentityEncoderConfig.small().__class__(**{**asdict(IdentityEncoderConfig.small()), "subspace": bad})
    sub = IdentityEncoder(IdentityEncoderConfig.small(), subspace=4)
    with pytest.raises(InputError, match="more than 4"): sub.fit_subspace(torch.randn(4, 512))
    with pytest.raises(ShapeError, match="vecs"): sub.fit_subspace(torch.randn(10, 3))
    with pytest.raises(InputError, match="fewer than 4"): sub.fit_subspace(torch.randn(10, 2) @ torch.randn(2, 512))
    with pytest.raises(InputError, match="no subspace"): small[0].fit_subspace(torch.randn(10, 512))
    with pytest.raises(InputError, match="no subspace"): small[0].project(torch.randn(1, 512))

def test_pose_dropout_only_in_training():
    "The hourglass dropout (p = 0.5) is the only random layer: train-mode passes differ by seed, eval passes agree."
    e = PoseEncoder(PoseEncoderConfig.small())
    assert e.model.m0.dropout.p == 0.5
    x = torch.rand(2, 3, 128, 128) * 2 - 1
    e.train()
    with torch.no_grad():
        torch.manual_seed(0); a = e(x).noid
        torch.manual_seed(0); b = e(x).noid
        torch.manual_seed(1); c = e(x).noid
    torch.testing.assert_close(a, b)
    assert (c - a).abs().max() > 1e-4
    e.eval()
    with torch.no_grad(): torch.testing.assert_close(e(x).noid, e(x).noid)


# ---------------------------------------------------------------- small presets: smoke and gradients
def test_small_forward_backward_reaches_every_parameter(small):
    v, e, a = small
    for m in small: m.train(); m.zero_grad()
    img, pose, mel = torch.rand(2, 3, 128, 128) * 2 - 1, torch.rand(2, 3, 128, 128) * 2 - 1, torch.rand(2, 1, 80, 20)
    fv, fe, fa = v(img), e(pose), a(mel)
    style = torch.cat([fv.vec, e.speech_code(fa.feature), fe.pose], 1)
    assert style.shape == (2, 512 + 116 + 12) and fv.map.shape == (2, 128, 4, 4)
    loss = style.square().mean() + fv.map.square().mean() + e.visual_speech(fe.noid).square().mean()
    loss.backward()
    for m in small:
        for n, p in m.named_parameters():
            assert p.grad is not None and torch.isfinite(p.grad).all(), n
            assert p.grad.abs().sum() > 0, n
    for m in small: m.eval()

def test_configs_roundtrip_and_validate():
    for cls in (IdentityEncoderConfig, PoseEncoderConfig, AudioEncoderConfig):
        cfg = cls.small()
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}   # as JSON would store it
        assert cls(**d) == cfg
    assert IdentityEncoder(asdict(IdentityEncoderConfig.small())).cfg == IdentityEncoderConfig.small()
    assert AudioEncoder(AudioEncoderConfig.small(), n_out=64).cfg.n_out == 64
    assert AudioEncoderConfig.audio_identity().pooled_dim == 10240
    with pytest.raises(InputError, match="has no field 'width'"): IdentityEncoder(width=3)
    with pytest.raises(InputError, match="divisible by 4"): PoseEncoderConfig(widths=(30, 32, 64))
    with pytest.raises(InputError, match="too small for hg_depth"): PoseEncoderConfig(input_size=48)
    with pytest.raises(InputError, match="4 entries"): IdentityEncoderConfig(layers=(1, 1))
    with pytest.raises(InputError, match="expected a PoseEncoderConfig"): PoseEncoder(IdentityEncoderConfig())


# ---------------------------------------------------------------- bad inputs: clear errors, no torch tracebacks
def test_wrong_input_shapes_raise_shape_errors(small):
    v, e, a = small
    with pytest.raises(ShapeError, match=r"shape \(3, 128, 128\).*\(B, 3, H, W\)"): v(torch.zeros(3, 128, 128))
    with pytest.raises(ShapeError, match="RGB face crops"): v(torch.zeros(1, 4, 128, 128))
    with pytest.raises(ShapeError, match="at least 32×32"): v(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ShapeError, match="built for 128×128 crops, got 224×224"): e(torch.zeros(1, 3, 224, 224))
    with pytest.raises(ShapeError, match="built for 128×128"): e(torch.zeros(1, 3, 128, 96))
    with pytest.raises(ShapeError, match=r"\(B, 1, 80, T\)"): a(torch.zeros(1, 1, 40, 20))
    with pytest.raises(ShapeError, match="time and mel axes swapped"): a(torch.zeros(1, 1, 20, 80))
    with pytest.raises(ShapeError, match="empty batch"): v(torch.zeros(0, 3, 64, 64))
    with pytest.raises(InputError, match="float tensor"): v(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
    with pytest.raises(InputError, match="torch.Tensor"): a(np.zeros((1, 1, 80, 20), np.float32))
    with pytest.raises(ShapeError, match="feat_dim"): e.speech_code(torch.zeros(1, 512))
    with pytest.raises(InputError, match="no classifier"): v.classify(torch.zeros(1, 512))
    assert all(issubclass(c, ValueError) for c in (ShapeError, InputError))
