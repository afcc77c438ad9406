"""synthlab.anime.widgets: the exploration record, its pictures, upload handling and the FlowExplorer widget."""
import datetime, warnings
import numpy as np
import pytest
import torch
from torch import nn

from synthlab.core import ShapeError, InputError
from synthlab.flow import forward_splat, splat_coverage
from synthlab.io import write_image
from synthlab.anime.model import anime_interp, InterpOutput, Motion
from synthlab.anime.widgets import (Exploration, explore, explore_triplet, plot_segments, plot_flows, plot_result, figure_png,
                                    flow_scale, fit_frames, frames_from_upload, FlowExplorer, HOLE, _holes)

PNG = b"\x89PNG\r\n\x1a\n"

@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    return anime_interp("small").eval()

@pytest.fixture(scope="module")
def ex(model):
    return explore_triplet(model, seed=1, level="hard", size=(160, 96))

class Oracle(nn.Module):
    "A stand-in for AnimeInterp with the same public interface: its 'refined' flow is the truth, its frame the average."
    def __init__(self, F13, F31):
        super().__init__(); self.w = nn.Parameter(torch.zeros(1)); self.F13, self.F31 = F13, F31
    def estimate_motion(self, I1, I2, F12i=None, F21i=None, iters=None):
        return Motion(None, self.F13, self.F31, F12i, F21i)
    def synthesize(self, I1, I2, motion, t=0.5):
        I1t, I2t = forward_splat(I1, t * motion.F12, mode="average"), forward_splat(I2, (1 - t) * motion.F21, mode="average")
        c1, c2 = splat_coverage(t * motion.F12), splat_coverage((1 - t) * motion.F21)
        return InterpOutput((1 - t) * I1 + t * I2, motion.F12, motion.F21, motion.F12in, motion.F21in, I1t, I2t, c1, c2)

def test_explore_smoke(ex):
    o = ex.output(0.5)
    assert isinstance(o, InterpOutput) and o.It.shape == (1, 3, 96, 160)
    assert ex.output(0.5) is o and ex.output(0.3) is not o                        # cached per t
    assert ex.result(0.3).shape == (96, 160, 3) and ex.result(0.3).dtype == np.uint8
    assert list(ex.flows()) == ["SGM guide", "refined (RFR)", "truth"]
    assert all(f.shape == (96, 160, 2) for f in ex.flows().values())
    assert set(ex.epe()) == {"SGM guide", "refined (RFR)"} and set(ex.seconds) == {"sgm", "motion"}

def test_truth_at_any_t(ex):
    from synthlab.anime.data import make_triplet
    T = make_triplet(1, size=(160, 96), level=2)
    assert np.array_equal(ex.truth_at(0.5), T.frame2) and np.array_equal(ex.frame1, T.frame1)
    assert np.array_equal(ex.truth_at(0.25), ex.scene.render(0.25)[0]) and not np.array_equal(ex.truth_at(0.25), T.frame2)

def test_oracle_flow_has_zero_error_and_guide_error_is_its_epe(ex):
    F13 = torch.from_numpy(ex.flow13).permute(2, 0, 1)[None]
    orc = Oracle(F13, -F13)
    e = explore(orc, ex.frame1, ex.frame3, guide="sgm", scene=ex.scene, flow13=ex.flow13, valid13=ex.valid13)
    err = e.epe()
    assert err["refined (RFR)"] == 0.0                                            # the refined flow *is* the truth
    m = ex.valid13 & (np.linalg.norm(ex.flow13, axis=-1) > 0.5)
    g = e.guide13[0].permute(1, 2, 0).numpy()
    assert err["SGM guide"] == pytest.approx(np.linalg.norm(g - ex.flow13, axis=-1)[m].mean(), rel=1e-6)
    assert np.array_equal(e.guide13, torch.from_numpy(ex.sgm.flow13)[None])      # the model received SGM's flow

def test_holes_are_painted_where_nothing_lands():
    img = np.full((8, 10, 3), 7, np.uint8)
    cover = torch.ones(1, 1, 8, 10); cover[..., 2, 3] = 0; cover[..., 5, :2] = 0
    out = _holes(img, cover)
    assert (out[2, 3] == HOLE).all() and (out[5, :2] == HOLE).all()
    assert (out == HOLE).all(-1).sum() == 3 and (img == 7).all()                  # exactly those, input untouched

def test_pictures_render(ex, model):
    for fig in (plot_segments(ex), plot_flows(ex), plot_flows(ex, arrows=False), plot_result(ex, 0.3)):
        png = figure_png(fig); assert png[:8] == PNG and len(png) > 3000
    assert figure_png(plot_result(ex, 0.3)) != figure_png(plot_result(ex, 0.7))
    assert figure_png(plot_flows(ex)) != figure_png(plot_flows(ex, arrows=False))
    nogt = explore(model, ex.frame1, ex.frame3, guide="zero")                     # uploaded frames: no truth, no guide
    assert nogt.truth_at(0.5) is None and list(nogt.flows()) == ["refined (RFR)"] and nogt.epe() == {}
    assert figure_png(plot_flows(nogt))[:8] == PNG and figure_png(plot_result(nogt, 0.5))[:8] == PNG

def test_flow_scale():
    f = np.zeros((10, 10, 2)); f[..., 0] = 3.0
    assert flow_scale({"truth": f, "x": 100 * f}) == pytest.approx(3.0)          # the truth sets the scale when known
    assert flow_scale({"x": np.zeros((4, 4, 2))}) == 1.0

def test_explore_errors(model, ex):
    with pytest.raises(ShapeError, match="different sizes"): explore(model, ex.frame1, ex.frame3[:, :120])
    with pytest.raises(ShapeError, match="divisible by 4"): explore(model, ex.frame1[:, :150], ex.frame3[:, :150])
    with pytest.raises(ShapeError, match="uint8"): explore(model, ex.frame1.astype(float), ex.frame3)
    with pytest.raises(InputError, match="guide must be"): explore(model, ex.frame1, ex.frame3, guide="raft")
    with pytest.raises(InputError, match="level must be"): explore_triplet(model, level="insane")
    with pytest.raises(InputError, match="strictly between 0 and 1"): ex.output(0.0)

def test_fit_frames():
    a = np.zeros((1080, 1920, 3), np.uint8)
    x, y = fit_frames(a, a)
    assert x.shape == y.shape == (216, 384, 3)                                   # width-limited, 16:9 kept, multiples of 8
    x, _ = fit_frames(np.zeros((600, 300, 3), np.uint8), np.zeros((600, 300, 3), np.uint8))
    assert x.shape == (224, 112, 3)                                              # height-limited: 300*224/600 = 112
    small = np.zeros((96, 160, 3), np.uint8)
    assert fit_frames(small, small)[0] is small                                  # already fits: untouched
    with pytest.raises(ShapeError, match="different sizes"): fit_frames(a, small)
    with pytest.raises(ShapeError, match="too small"): fit_frames(np.zeros((50, 80, 3), np.uint8), np.zeros((50, 80, 3), np.uint8))

def _upload(tmp_path, name, img):
    write_image(img, tmp_path / name)
    return dict(name=name, type="image/png", size=0, content=memoryview((tmp_path / name).read_bytes()), last_modified=datetime.datetime.now())

def test_frames_from_upload(tmp_path, ex):
    v8 = (_upload(tmp_path, "b.png", ex.frame3), _upload(tmp_path, "a.png", ex.frame1))
    got = frames_from_upload(v8)
    assert np.array_equal(got[0], ex.frame1) and np.array_equal(got[1], ex.frame3)   # sorted by file name
    v7 = {"a.png": {"metadata": {"name": "a.png"}, "content": v8[1]["content"]}}     # ipywidgets 7 layout
    assert np.array_equal(frames_from_upload(v7)[0], ex.frame1)
    rgba = np.zeros((8, 8, 4), np.uint8); rgba[..., 3] = 0
    assert (frames_from_upload((_upload(tmp_path, "t.png", rgba),))[0] == 255).all()   # transparent -> white
    with pytest.raises(Exception, match="junk.png"):
        frames_from_upload((dict(name="junk.png", content=memoryview(b"not an image")),))
    assert frames_from_upload(()) == []

def test_flow_explorer(tmp_path, model):
    fe = FlowExplorer(model=model, seed=2, level="medium")
    assert fe.status.value == "" and fe.result.value[:8] == PNG and "t 0.50" in fe.stats.value
    assert {"sl-anime-t", "sl-anime-explorer"} <= set(fe.t._dom_classes + fe.widget._dom_classes)
    assert "sl-anime-result" in fe.result._dom_classes
    r0, f0, s0 = fe.result.value, fe.flows.value, fe.segments.value
    fe.t.value = 0.75
    assert fe.result.value != r0 and fe.flows.value == f0 and fe.segments.value == s0 and "t 0.75" in fe.stats.value
    fe.arrows.value = False
    assert fe.flows.value != f0
    fe.guide.value = "dis"
    assert fe.status.value == "" and "dis" in fe.stats.value and fe.ex.guide == "dis"
    T = fe.ex
    fe.upload1.value = (_upload(tmp_path, "f1.png", T.frame1),)
    assert "upload the other frame" in fe.status.value
    fe.upload3.value = (_upload(tmp_path, "f3.png", T.frame3),)
    assert fe.status.value == "" and "uploaded" in fe.source.value and "PSNR" not in fe.stats.value   # no truth
    fe.upload3.value = (_upload(tmp_path, "g.png", T.frame3[:, :100].copy()),)
    assert "could not draw this" in fe.status.value and "different sizes" in fe.status.value and "Traceback" not in fe.status.value
    fe.synthetic.click()
    assert fe.status.value == "" and "synthetic" in fe.source.value
    flat_frame = fe.ex.frame1
    fe.paint.value = 0.8                                                         # painted version of the same scene
    assert fe.status.value == "" and "painted 0.8" in fe.source.value and "PSNR" in fe.stats.value
    assert fe.ex.frame1.shape == flat_frame.shape and not np.array_equal(fe.ex.frame1, flat_frame)
    assert np.array_equal(fe.ex.flow13, explore_triplet(model, 2, "medium", (256, 160), "dis").flow13)   # same truth
