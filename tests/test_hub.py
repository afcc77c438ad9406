"""Tests for synthlab.hub: safe checkpoint reading, official layouts, strict loading with a diff, and the preset registry."""
import json, os, random, sys, zipfile
import pytest
import torch
from torch import nn

from synthlab.core import (CheckpointError, FileFormatError, InputError, MissingFileError, OverwriteError, SynthlabError)
from synthlab import hub
from synthlab.hub import (TinyNet, StateDictDiff, card, extract_state_dict, file_sha256, list_presets, load, load_checkpoint,
                          load_checkpoint_into, load_state_dict_strict, register_builder, rename_keys, resolve_builder,
                          save_weights, search_dirs, state_dict_diff, strip_prefix, weights_dir)

torch.set_num_threads(1)
TINY = "synthlab.hub:TinyNet"


@pytest.fixture
def net():
    torch.manual_seed(0)
    m = TinyNet(width=4)
    with torch.no_grad():  # give the buffers non-default values so a round trip really checks them
        m.norm.running_mean.uniform_(-1, 1); m.norm.running_var.uniform_(0.5, 2); m.norm.num_batches_tracked.fill_(7)
    return m


@pytest.fixture(autouse=True)
def no_user_weights(monkeypatch):
    "Tests never see (or write to) a user's SYNTHLAB_WEIGHTS."
    monkeypatch.delenv("SYNTHLAB_WEIGHTS", raising=False)


def same_weights(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


# ---------------------------------------------------------------- load_checkpoint
_calls = []
def _side_effect(*args):
    "Would be called by pickle if the file were unpickled unsafely."
    _calls.append(args); return {}

class Evil:
    def __reduce__(self): return (_side_effect, ("pwned",))

class Custom:
    def __init__(self): self.w = torch.zeros(2)


def test_load_plain_state_dict(tmp_path, net):
    torch.save(net.state_dict(), tmp_path / "a.pt")
    sd = load_checkpoint(tmp_path / "a.pt")
    assert list(sd) == list(net.state_dict())
    assert all(torch.equal(sd[k], v) for k, v in net.state_dict().items())
    assert sd["norm.num_batches_tracked"].dtype == torch.int64 and sd["norm.num_batches_tracked"].item() == 7
    assert load_checkpoint(str(tmp_path / "a.pt"), map_location=torch.device("cpu"))["conv1.weight"].device.type == "cpu"


def test_load_legacy_format(tmp_path, net):
    torch.save(net.state_dict(), tmp_path / "old.pt", _use_new_zipfile_serialization=False)
    assert set(load_checkpoint(tmp_path / "old.pt")) == set(net.state_dict())


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"): load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(FileNotFoundError): load_checkpoint(tmp_path / "nope.pt")


def test_folder_is_not_a_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="is a folder"): load_checkpoint(tmp_path)


@pytest.mark.parametrize("payload", ["module", "custom", "evil", "namespace"])
def test_pickled_objects_refused(tmp_path, net, payload):
    import argparse
    obj = {"module": lambda: net, "custom": lambda: {"model": Custom()}, "evil": lambda: {"state_dict": net.state_dict(), "x": Evil()},
           "namespace": lambda: {"state_dict": net.state_dict(), "args": argparse.Namespace(lr=1)}}[payload]()
    torch.save(obj, tmp_path / "p.pt")
    _calls.clear()
    with pytest.raises(CheckpointError) as e: load_checkpoint(tmp_path / "p.pt")
    msg = str(e.value)
    assert "pickled Python objects" in msg and "refuses" in msg and "p.pt" in msg
    assert "weights_only=False" in msg and "state_dict" in msg        # says how to re-save it
    assert _calls == []                                                 # nothing from the file was executed


def test_pickled_message_names_the_class(tmp_path):
    torch.save({"model": Custom()}, tmp_path / "c.pt")
    with pytest.raises(CheckpointError, match="Custom"): load_checkpoint(tmp_path / "c.pt")


@pytest.mark.parametrize("content", [random.Random(1).randbytes(1000), b"", b"hello world, not a checkpoint\n", b"PK\x03\x04" + random.Random(2).randbytes(64)])
def test_not_a_checkpoint(tmp_path, content):
    p = tmp_path / "junk.pt"; p.write_bytes(content)
    with pytest.raises(CheckpointError) as e: load_checkpoint(p)
    assert "junk.pt" in str(e.value) and "pickled" not in str(e.value)
    assert f"{len(content)} bytes" in str(e.value)


@pytest.mark.parametrize("frac", [0.1, 0.5, 0.9])
def test_truncated_checkpoint(tmp_path, net, frac):
    torch.save({"model_state_dict": net.state_dict()}, tmp_path / "full.pt")
    data = (tmp_path / "full.pt").read_bytes()
    p = tmp_path / "cut.pt"; p.write_bytes(data[: int(len(data) * frac)])
    with pytest.raises(CheckpointError, match="cut.pt") as e: load_checkpoint(p)
    assert "pickled" not in str(e.value)


def test_zip_without_pickle(tmp_path):
    with zipfile.ZipFile(tmp_path / "z.pt", "w") as z: z.writestr("hello.txt", "hi")
    with pytest.raises(CheckpointError, match="z.pt"): load_checkpoint(tmp_path / "z.pt")


def test_not_a_dict(tmp_path):
    torch.save(torch.zeros(3), tmp_path / "t.pt")
    with pytest.raises(CheckpointError, match="not a dict of tensors"): load_checkpoint(tmp_path / "t.pt")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_map_location(tmp_path, net):
    torch.save(net.state_dict(), tmp_path / "a.pt")
    with pytest.raises(InputError, match="CUDA is not available"): load_checkpoint(tmp_path / "a.pt", map_location="cuda")


def test_safetensors_without_package(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "safetensors", None); monkeypatch.setitem(sys.modules, "safetensors.torch", None)
    p = tmp_path / "w.safetensors"; p.write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(CheckpointError, match="pip install safetensors"): load_checkpoint(p)
    q = tmp_path / "renamed.pt"; q.write_bytes(p.read_bytes())          # recognised by content, too
    with pytest.raises(CheckpointError, match="safetensors"): load_checkpoint(q)


def test_safetensors_round_trip(tmp_path, net):
    st = pytest.importorskip("safetensors.torch")
    st.save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "w.safetensors"))
    sd = load_checkpoint(tmp_path / "w.safetensors")
    assert all(torch.equal(sd[k], v) for k, v in net.state_dict().items())
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    with pytest.raises(CheckpointError, match="bad.safetensors"): load_checkpoint(tmp_path / "bad.safetensors")


# ---------------------------------------------------------------- layouts and key converters
@pytest.mark.parametrize("wrap", [lambda sd: sd, lambda sd: {"state_dict": sd, "epoch": 3},
                                  lambda sd: {"model_state_dict": sd, "optimizer": {"state": {}, "param_groups": [{"lr": 0.1}]}},
                                  lambda sd: {"model": sd, "args": "x"}, lambda sd: {"net": sd},
                                  lambda sd: {"ckpt": {"state_dict": sd}, "step": 1}])
def test_extract_layouts(net, wrap):
    sd = net.state_dict()
    out = extract_state_dict(wrap(sd))
    assert list(out) == list(sd) and all(out[k] is sd[k] for k in sd)


def test_extract_ambiguous_and_key(net):
    sd = net.state_dict(); ema = {k: v + 1 if v.is_floating_point() else v for k, v in sd.items()}
    with pytest.raises(CheckpointError, match="several state_dicts") as e: extract_state_dict({"model": sd, "ema": ema})
    assert "key=" in str(e.value) and "'ema' (9 tensors)" in str(e.value)
    assert torch.equal(extract_state_dict({"model": sd, "ema": ema}, key="ema")["conv1.weight"], ema["conv1.weight"])
    assert torch.equal(extract_state_dict({"a": {"G": sd, "D": ema}}, key="a/D")["conv1.bias"], ema["conv1.bias"])


def test_extract_errors(net):
    with pytest.raises(CheckpointError, match="no dict of tensors") as e: extract_state_dict({"epoch": 3, "lr": 0.1})
    assert "'epoch': int" in str(e.value)
    with pytest.raises(CheckpointError, match="no entry 'G'"): extract_state_dict({"model": net.state_dict()}, key="G")
    with pytest.raises(CheckpointError, match="not a dict of tensors"): extract_state_dict({"epoch": 3}, key="epoch")
    with pytest.raises(CheckpointError, match="expected a dict"): extract_state_dict([1, 2])
    with pytest.raises(CheckpointError): extract_state_dict({})


def test_strip_prefix():
    out = strip_prefix({"module.a.weight": 1, "module.b": 2, "c": 3})
    assert out == {"a.weight": 1, "b": 2, "c": 3}
    assert strip_prefix({"netG.x": 1}, "netG.") == {"x": 1}
    assert strip_prefix({"x.module.y": 1}) == {"x.module.y": 1}             # only a leading prefix
    with pytest.raises(CheckpointError, match="collides"): strip_prefix({"module.a": 1, "a": 2})


def test_rename_keys():
    sd = {"enc.conv_out.weight": 1, "enc.conv_out.bias": 2, "aux.w": 3, "enc.x": 4}
    out = rename_keys(sd, [(r"\.conv_out\.", ".conv2."), (r"^aux\.", None), (r"^enc\.", "")])
    assert out == {"conv2.weight": 1, "conv2.bias": 2, "x": 4}
    assert rename_keys({"a": 1}, {"^a$": "b"}) == {"b": 1}                  # dict of rules works too
    assert rename_keys({"a": 1}, []) == {"a": 1}
    with pytest.raises(CheckpointError, match="collides"): rename_keys({"a1": 1, "a2": 2}, [(r"\d", "")])
    with pytest.raises(InputError, match="bad rename rule"): rename_keys({"a": 1}, [("(", "x")])


def test_animeinterp_layout_into_model(tmp_path, net):
    "The official AnimeInterp layout: ckpt['model_state_dict'] with every key prefixed 'module.'."
    official = {"model_state_dict": {"module." + k: v for k, v in net.state_dict().items()}, "epoch": 49}
    torch.save(official, tmp_path / "anime_interp_full.ckpt")
    sd = strip_prefix(extract_state_dict(load_checkpoint(tmp_path / "anime_interp_full.ckpt")))
    fresh = load_state_dict_strict(TinyNet(width=4), sd)
    assert same_weights(fresh, net)
    fresh2 = load_checkpoint_into(TinyNet(width=4), tmp_path / "anime_interp_full.ckpt")
    assert same_weights(fresh2, net)


def test_pcavs_layout_into_model(tmp_path, net):
    "PC-AVS: one flat state_dict per net in latest_net_<X>.pth, no prefix."
    torch.save(net.state_dict(), tmp_path / "latest_net_G.pth")
    assert same_weights(load_checkpoint_into(TinyNet(width=4), tmp_path / "latest_net_G.pth", prefix=None), net)


def test_load_checkpoint_into_with_rules(tmp_path, net):
    old = rename_keys(net.state_dict(), [(r"^conv2\.", "head.")])
    torch.save({"state_dict": old}, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match="head.weight"): load_checkpoint_into(TinyNet(width=4), tmp_path / "old.pt")
    m = load_checkpoint_into(TinyNet(width=4), tmp_path / "old.pt", rules=[(r"^head\.", "conv2.")])
    assert same_weights(m, net)


# ---------------------------------------------------------------- diff and strict loading
def test_diff_ok(net):
    d = state_dict_diff(net, TinyNet(width=4).state_dict())
    assert d.ok and d.n_model == d.n_ckpt == d.n_matched == 9
    assert "9 match" in str(d) and "missing" not in str(d)


def test_diff_contents(net):
    ckpt = rename_keys(TinyNet(in_ch=1, width=4).state_dict(), [(r"^conv2\.", "out.")])
    ckpt["extra.bias"] = torch.zeros(2)
    d = state_dict_diff(net, ckpt)
    assert isinstance(d, StateDictDiff) and not d.ok
    # by hand: model has 9 keys; ckpt has 7 shared + out.weight, out.bias, extra.bias = 10
    assert (d.n_model, d.n_ckpt) == (9, 10)
    assert d.missing == ["conv2.weight", "conv2.bias"]
    assert d.unexpected == ["out.weight", "out.bias", "extra.bias"]
    assert d.mismatched == [("conv1.weight", (4, 1, 3, 3), (4, 3, 3, 3))]
    assert d.n_matched == 6
    assert ("out.weight", "conv2.weight") in d.renames
    s = str(d)
    assert "9 entries in the model, 10 in the checkpoint: 6 match; 2 missing, 3 unexpected, 1 with another shape" in s
    assert "conv1.weight: checkpoint (4, 1, 3, 3) vs model (4, 3, 3, 3)" in s
    assert "missing from the checkpoint (2)" in s and "unexpected in the checkpoint (3)" in s
    md = d._repr_markdown_()
    assert "`conv2.weight`" in md and "❌" in md


def test_diff_truncates_long_lists():
    model_sd = {f"layer{i}.weight": torch.zeros(1) for i in range(30)}
    d = state_dict_diff(model_sd, {})
    s = d.format(max_lines=5)
    assert "missing from the checkpoint (30)" in s and "… and 25 more" in s
    assert "layer4.weight" in s and "layer5.weight" not in s


def test_diff_prefix_hints(net):
    sd = net.state_dict()
    d = state_dict_diff(net, {"module." + k: v for k, v in sd.items()})
    assert "strip_prefix(sd, 'module.')" in d.hint
    wrapped = nn.Sequential(net)  # keys '0.conv1.weight', ...
    d2 = state_dict_diff(wrapped, sd)
    assert "rename_keys(sd, [('^', '0.')])" in d2.hint


def test_strict_load_mismatch_leaves_model_untouched(net):
    other = TinyNet(width=4)
    ckpt = {k: v for k, v in other.state_dict().items() if not k.startswith("conv2")}   # only conv2 missing
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(CheckpointError) as e: load_state_dict_strict(net, ckpt, name="run7.pt")
    msg = str(e.value)
    assert "run7.pt does not fit TinyNet" in msg and "is this the right checkpoint for TinyNet?" in msg
    assert "conv2.weight" in msg and "2 missing" in msg
    # torch's own strict load would have copied conv1/norm before raising; ours compared first
    assert all(torch.equal(net.state_dict()[k], v) for k, v in before.items())


def test_strict_load_shape_message(net):
    with pytest.raises(CheckpointError, match=r"norm.running_var: checkpoint \(6\) vs model \(4\)"):
        load_state_dict_strict(net, TinyNet(width=6).state_dict())


def test_strict_load_success_and_bad_args(net):
    m = load_state_dict_strict(TinyNet(width=4), net.state_dict())
    assert same_weights(m, net)
    with pytest.raises(InputError, match="nn.Module"): load_state_dict_strict({"a": 1}, net.state_dict())


def test_diff_plot(net):
    import matplotlib; matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    d = state_dict_diff(net, TinyNet(width=5).state_dict())
    ax = d.plot(model_keys=list(net.state_dict()))
    assert len(ax.get_yticklabels()) == 9
    plt.close("all")


# ---------------------------------------------------------------- registry
def save_tiny(net, folder, name="tiny", **kw):
    return save_weights(net, name, TINY, {"width": 4}, data="random init", command="pytest", metrics={"psnr": 30.5},
                        folder=folder, **kw)


def test_round_trip(tmp_path, net):
    c = save_tiny(net, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.pt"]          # no temp files left
    assert c.sha256 == file_sha256(tmp_path / "tiny.pt") and c.path == tmp_path / "tiny.pt"
    assert c.n_params == sum(p.numel() for p in net.parameters())
    cards = list_presets(tmp_path)
    assert cards.names == ["tiny"] and cards[0].metrics == {"psnr": 30.5} and cards[0].config == {"width": 4}
    m = load("tiny", folder=tmp_path)
    assert isinstance(m, TinyNet) and not m.training and same_weights(m, net)
    x = torch.rand(1, 3, 5, 6)
    net.eval()
    assert torch.equal(m(x), net(x))
    # the .pt is a plain state_dict that torch reads with weights_only=True, and the card is plain JSON
    assert set(torch.load(tmp_path / "tiny.pt", weights_only=True)) == set(net.state_dict())
    raw = json.loads((tmp_path / "tiny.json").read_text())
    assert {"name", "builder", "config", "data", "command", "metrics", "sha256", "created", "file"} <= set(raw)
    assert raw["builder"] == TINY and raw["created"].endswith("+00:00")
    assert "tiny" in card("tiny", folder=tmp_path)._repr_markdown_() and "| tiny |" in cards._repr_markdown_()


def test_env_var_folder_searched_first(tmp_path, monkeypatch, net):
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("SYNTHLAB_WEIGHTS", os.pathsep.join([str(a), str(b)]))
    assert search_dirs() == [a, b, weights_dir()]
    c = save_tiny(net, None)                                   # default folder: the first user folder
    assert c.folder == a and (a / "tiny.pt").exists()
    other = TinyNet(width=4)
    save_weights(other, "tiny", TINY, {"width": 4}, folder=b)  # same name in a later folder is shadowed
    assert card("tiny").folder == a and same_weights(load("tiny"), net)
    assert [c.name for c in list_presets()].count("tiny") == 1


def test_package_weights_dir_is_not_written(tmp_path, net):
    before = sorted(p.name for p in weights_dir().iterdir()) if weights_dir().exists() else []
    save_tiny(net, tmp_path)
    after = sorted(p.name for p in weights_dir().iterdir()) if weights_dir().exists() else []
    assert before == after
    assert weights_dir().name == "weights" and weights_dir().parent.name == "synthlab"


def test_sha_mismatch(tmp_path, net):
    save_tiny(net, tmp_path)
    other = TinyNet(width=4)                                         # same shapes, other numbers
    torch.save(other.state_dict(), tmp_path / "tiny.pt")
    with pytest.raises(CheckpointError, match="sha256") as e: load("tiny", folder=tmp_path)
    assert "pytest" in str(e.value)                                  # tells how to regenerate


def test_missing_weights_file(tmp_path, net):
    save_tiny(net, tmp_path)
    (tmp_path / "tiny.pt").unlink()
    with pytest.raises(MissingFileError, match="tiny.pt is missing"): load("tiny", folder=tmp_path)


def test_no_overwrite_without_force(tmp_path, net):
    c1 = save_tiny(net, tmp_path)
    other = TinyNet(width=4)
    with pytest.raises(OverwriteError, match="already exists"): save_weights(other, "tiny", TINY, {"width": 4}, folder=tmp_path)
    assert file_sha256(tmp_path / "tiny.pt") == c1.sha256            # untouched
    c2 = save_weights(other, "tiny", TINY, {"width": 4}, folder=tmp_path, force=True)
    assert c2.sha256 != c1.sha256 and same_weights(load("tiny", folder=tmp_path), other)
    (tmp_path / "only.json").write_text("{}")                        # a lone card also blocks the name
    with pytest.raises(OverwriteError): save_weights(other, "only", TINY, {"width": 4}, folder=tmp_path)


def test_interrupted_save_keeps_old_files(tmp_path, net, monkeypatch):
    c1 = save_tiny(net, tmp_path)
    old_json = (tmp_path / "tiny.json").read_text()
    def boom(*a, **k): raise KeyboardInterrupt
    monkeypatch.setattr(hub.torch, "save", boom)
    with pytest.raises(KeyboardInterrupt): save_weights(TinyNet(width=4), "tiny", TINY, {"width": 4}, folder=tmp_path, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.json", "tiny.pt"]
    assert file_sha256(tmp_path / "tiny.pt") == c1.sha256 and (tmp_path / "tiny.json").read_text() == old_json


def test_unknown_preset(tmp_path, net):
    save_tiny(net, tmp_path, name="anime-small"); save_tiny(net, tmp_path, name="talk-small")
    with pytest.raises(InputError) as e: load("anime-smal", folder=tmp_path)
    assert "did you mean 'anime-small'" in str(e.value) and "available: anime-small, talk-small" in str(e.value)
    with pytest.raises(InputError, match="see list_presets"): card("zzzzzz", folder=tmp_path)
    with pytest.raises(InputError, match="no presets are installed"): card("x", folder=tmp_path / "empty")


def test_save_validation(tmp_path, net):
    for bad in ["../evil", "a/b", "", ".hidden", "sp ace"]:
        with pytest.raises(InputError, match="invalid preset name"): save_weights(net, bad, TINY, {"width": 4}, folder=tmp_path)
    with pytest.raises(CheckpointError, match="do not fit"): save_weights(net, "t", TINY, {"width": 8}, folder=tmp_path)
    with pytest.raises(InputError, match="JSON"): save_weights(net, "t", TINY, {"width": 4}, metrics={"x": object()}, folder=tmp_path)
    with pytest.raises(InputError, match="failed"): save_weights(net, "t", TINY, {"widht": 4}, folder=tmp_path)
    with pytest.raises(InputError, match="has no"): save_weights(net, "t", "synthlab.hub:Nope", folder=tmp_path)
    with pytest.raises(InputError, match="nn.Module"): save_weights(net.state_dict(), "t", TINY, folder=tmp_path)
    assert list(tmp_path.iterdir()) == []                              # nothing written by failed saves


def test_builders(tmp_path, net):
    assert resolve_builder(TINY) is TinyNet and resolve_builder("synthlab.hub.TinyNet") is TinyNet
    assert save_weights(net, "a", TinyNet, {"width": 4}, folder=tmp_path).builder == TINY   # callable -> import path
    def local_builder(): return TinyNet(width=4)
    with pytest.raises(InputError, match="cannot be found again"): save_weights(net, "b", local_builder, folder=tmp_path)
    register_builder("test-hub-tiny4")(local_builder)
    c = save_weights(net, "b", local_builder, folder=tmp_path)
    assert c.builder == "test-hub-tiny4" and same_weights(load("b", folder=tmp_path), net)
    with pytest.raises(InputError, match="not registered"): resolve_builder("never-registered")
    with pytest.raises(InputError, match="cannot import"): resolve_builder("no_such_module_xyz:f")
    with pytest.raises(InputError, match="not a callable"): resolve_builder("synthlab.hub:STATE_DICT_KEYS")


def test_broken_cards(tmp_path, net):
    save_tiny(net, tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(FileFormatError, match="bad.json"): list_presets(tmp_path)
    (tmp_path / "bad.json").write_text(json.dumps({"name": "bad"}))
    with pytest.raises(FileFormatError, match="lacks"): list_presets(tmp_path)
    good = json.loads((tmp_path / "tiny.json").read_text())
    (tmp_path / "bad.json").write_text(json.dumps(good))               # name inside != file name
    with pytest.raises(FileFormatError, match="says its name is 'tiny'"): list_presets(tmp_path)
    (tmp_path / "bad.json").unlink()
    good["future_field"] = 1; (tmp_path / "tiny.json").write_text(json.dumps(good))
    c = card("tiny", folder=tmp_path)
    assert c.extra == {"future_field": 1} and c.to_dict()["future_field"] == 1


def test_card_builder_that_does_not_fit(tmp_path, net):
    save_tiny(net, tmp_path)
    raw = json.loads((tmp_path / "tiny.json").read_text()); raw["config"] = {"width": 5}
    (tmp_path / "tiny.json").write_text(json.dumps(raw))
    with pytest.raises(CheckpointError, match="preset 'tiny' does not fit TinyNet"): load("tiny", folder=tmp_path)


def test_errors_are_synthlab_errors(tmp_path):
    (tmp_path / "x.pt").write_bytes(b"\x00" * 10)
    with pytest.raises(SynthlabError): load_checkpoint(tmp_path / "x.pt")


def test_saved_files_are_world_readable(tmp_path):
    "Shipped weights must be readable by every user of an installed package (mkstemp alone would make them 0600)."
    from synthlab.hub import save_weights, TinyNet
    old = os.umask(0o022)
    try: card = save_weights(TinyNet(), "perm-check", "synthlab.hub:TinyNet", folder=tmp_path)
    finally: os.umask(old)
    for f in tmp_path.iterdir():
        if f.suffix in (".pt", ".json"): assert f.stat().st_mode & 0o777 == 0o644, f
