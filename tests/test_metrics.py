"Tests for synthlab.metrics: hand-computed values, independent cross-checks (torchmetrics, scikit-image, scipy), errors."
import math
import numpy as np
import pytest
import torch
from synthlab.core import ShapeError, InputError, SynthlabError
from synthlab import metrics as M

torch.set_num_threads(1)


@pytest.fixture
def gray():
    return torch.full((2, 3, 16, 16), 0.5, dtype=torch.float64)


@pytest.fixture
def textured():
    "A smooth-but-structured frame and a noisy copy (float64, [0, 1])."
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.arange(40.), torch.arange(48.), indexing="ij")
    img = torch.stack([0.5 + 0.4 * torch.sin(xx / 5), 0.5 + 0.4 * torch.cos(yy / 7), (xx + yy) / 90]).double()[None]
    noisy = (img + 0.05 * torch.randn(img.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return noisy, img


# ------------------------------------------------------------------ PSNR
def test_psnr_known_values(gray):
    assert M.psnr(gray + 0.1, gray).item() == pytest.approx(20.0, abs=1e-9)          # MSE 0.01
    q = gray.clone(); q[:, :, :8, :8] += 0.1                                        # MSE 0.0025 on 1/4 of the pixels
    assert M.psnr(q, gray).item() == pytest.approx(10 * math.log10(400), abs=1e-9)
    assert M.psnr(gray + 0.1, gray, data_range=2.0).item() == pytest.approx(20 + 20 * math.log10(2), abs=1e-9)
    v = M.psnr(torch.stack([gray[0] + 0.1, gray[0] + 0.01]), gray, reduction="none")
    assert v.shape == (2,) and v.tolist() == pytest.approx([20.0, 40.0], abs=1e-9)
    assert M.psnr(torch.stack([gray[0] + 0.1, gray[0] + 0.01]), gray).item() == pytest.approx(30.0)  # mean of per-image PSNR


def test_psnr_matches_torchmetrics():
    from torchmetrics.functional.image import peak_signal_noise_ratio
    g = torch.Generator().manual_seed(0)
    p, t = torch.rand(3, 3, 10, 12, generator=g, dtype=torch.float64), torch.rand(3, 3, 10, 12, generator=g, dtype=torch.float64)
    ref = peak_signal_noise_ratio(p, t, data_range=1.0, reduction="none", dim=(1, 2, 3))
    torch.testing.assert_close(M.psnr(p, t, reduction="none"), ref, atol=1e-5, rtol=0)


def test_psnr_identical_is_inf_or_capped(gray):
    assert M.psnr(gray, gray).item() == float("inf")
    assert M.psnr(gray, gray, max_db=100).item() == 100.0
    assert M.psnr(gray + 0.1, gray, max_db=100).item() == pytest.approx(20.0)


def test_psnr_uint8_arrays():
    a = np.full((12, 12, 3), 100, np.uint8)
    assert M.psnr(a, a + np.uint8(10)).item() == pytest.approx(20 * math.log10(25.5), abs=1e-4)
    batch = np.stack([a, a])
    assert M.psnr(batch, batch + np.uint8(10), reduction="none").shape == (2,)
    assert M.psnr([a, a], [a + np.uint8(10)] * 2).item() == pytest.approx(20 * math.log10(25.5), abs=1e-4)


def test_psnr_roi(gray):
    q = gray.clone(); q[:, :, 4:8, 2:10] += 0.1
    assert M.psnr(q, gray, roi=(2, 4, 8, 4)).item() == pytest.approx(20.0, abs=1e-9)
    v = M.psnr(q, gray, roi=[(2, 4, 8, 4), (0, 0, 16, 16)], reduction="none")          # one RoI per image
    assert v[0].item() == pytest.approx(20.0, abs=1e-9)
    assert v[1].item() == pytest.approx(10 * math.log10(1 / (0.01 * 32 / 256)), abs=1e-9)


def test_psnr_errors(gray):
    with pytest.raises(ShapeError, match="same shape"): M.psnr(gray, gray[..., :8])
    with pytest.raises(InputError, match="reduction"): M.psnr(gray, gray, reduction="sum")
    with pytest.raises(ShapeError, match="2 images"): M.psnr(gray, gray, roi=[(0, 0, 4, 4)] * 3)
    with pytest.raises(ShapeError, match="outside"): M.psnr(gray, gray, roi=(20, 0, 4, 4))
    with pytest.raises(InputError): M.psnr("a", gray)
    with pytest.raises(ShapeError): M.psnr(torch.rand(3, 4), torch.rand(3, 4))


def test_psnr_gradient(gray):
    p = (gray + 0.1).requires_grad_()
    M.psnr(p, gray).backward()
    assert p.grad is not None and torch.isfinite(p.grad).all() and (p.grad < 0).all()   # moving towards the target raises PSNR


# ------------------------------------------------------------------ SSIM
@pytest.mark.parametrize("variant", ["standard", "paper"])
def test_ssim_identical_is_one(variant, textured):
    _, img = textured
    assert M.ssim(img, img, variant=variant).item() == pytest.approx(1.0, abs=1e-9)


def test_ssim_constant_images_formula():
    "Constant images: variances vanish, SSIM = (2ab + C1)/(a² + b² + C1); C1 = (0.01·R)², R = 1 standard / 2 paper."
    a, b = torch.full((1, 3, 16, 16), 0.25, dtype=torch.float64), torch.full((1, 3, 16, 16), 0.75, dtype=torch.float64)
    assert M.ssim(a, b).item() == pytest.approx((0.375 + 1e-4) / (0.625 + 1e-4), abs=1e-9)
    assert M.ssim(a, b, variant="paper").item() == pytest.approx((0.375 + 4e-4) / (0.625 + 4e-4), abs=1e-12)
    assert M.ssim_paper(a, b).item() == M.ssim(a, b, variant="paper").item()


def test_ssim_paper_more_lenient_than_standard(textured):
    noisy, img = textured
    std, pap = M.ssim(noisy, img).item(), M.ssim(noisy, img, variant="paper").item()
    assert pap > std + 0.01     # larger constants (R = 2) make the paper's SSIM clearly higher on the same pair


def test_ssim_paper_handcomputed_window():
    "One 7x7 window (image exactly 7x7): SSIM from the formula with sample covariance (÷48) and R = 2."
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 1, 7, 7, generator=g, dtype=torch.float64); y = torch.rand(1, 1, 7, 7, generator=g, dtype=torch.float64)
    mx, my = x.mean(), y.mean()
    vx, vy = ((x - mx) ** 2).sum() / 48, ((y - my) ** 2).sum() / 48
    cxy = ((x - mx) * (y - my)).sum() / 48
    C1, C2 = 0.02 ** 2, 0.06 ** 2
    want = ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx ** 2 + my ** 2 + C1) * (vx + vy + C2))
    assert M.ssim_paper(x, y).item() == pytest.approx(want.item(), abs=1e-12)


def test_ssim_paper_matches_skimage(textured):
    metrics = pytest.importorskip("skimage.metrics")
    noisy, img = textured
    est, gt = noisy[0].permute(1, 2, 0).numpy(), img[0].permute(1, 2, 0).numpy()
    ref = metrics.structural_similarity(est, gt, channel_axis=2, data_range=2.0)
    assert M.ssim_paper(noisy, img).item() == pytest.approx(ref, abs=1e-10)
    ref_roi = metrics.structural_similarity(est[5:30, 3:40], gt[5:30, 3:40], channel_axis=2, data_range=2.0)
    assert M.ssim(noisy, img, variant="paper", roi=(3, 5, 37, 25)).item() == pytest.approx(ref_roi, abs=1e-10)


def _numpy_ssim_standard(x, y, sigma=1.5, R=1.0):
    "Independent NumPy SSIM with the documented standard settings: Gaussian 11x11 σ=1.5, reflect pad 5, population cov."
    r = int(3.5 * sigma + 0.5)
    k = np.exp(-(np.arange(-r, r + 1) ** 2) / (2 * sigma ** 2)); k /= k.sum()
    def filt(img):                                   # (H, W) -> (H, W): reflect pad, separable 'valid' convolution
        a = np.pad(img, r, mode="reflect")
        a = np.stack([np.convolve(row, k, mode="valid") for row in a])
        return np.stack([np.convolve(col, k, mode="valid") for col in a.T]).T
    out = []
    for c in range(x.shape[0]):
        a, b = x[c], y[c]
        ux, uy = filt(a), filt(b)
        vx, vy, vxy = filt(a * a) - ux ** 2, filt(b * b) - uy ** 2, filt(a * b) - ux * uy
        C1, C2 = (0.01 * R) ** 2, (0.03 * R) ** 2
        out.append(((2 * ux * uy + C1) * (2 * vxy + C2)) / ((ux ** 2 + uy ** 2 + C1) * (vx + vy + C2)))
    return float(np.mean(out))


def test_ssim_standard_matches_numpy_reference(textured):
    noisy, img = textured
    assert M.ssim(noisy, img).item() == pytest.approx(_numpy_ssim_standard(noisy[0].numpy(), img[0].numpy()), abs=1e-10)


def test_ssim_standard_close_to_skimage_gaussian(textured):
    "scikit-image drops a 5-px border instead of reflecting it: same settings, nearly the same number."
    metrics = pytest.importorskip("skimage.metrics")
    noisy, img = textured
    est, gt = noisy[0].permute(1, 2, 0).numpy(), img[0].permute(1, 2, 0).numpy()
    ref = metrics.structural_similarity(est, gt, channel_axis=2, data_range=1.0, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False)
    assert M.ssim(noisy, img).item() == pytest.approx(ref, abs=0.02)


def test_ssim_errors(textured):
    noisy, img = textured
    with pytest.raises(ShapeError, match="at least"): M.ssim(img[..., :8, :8], img[..., :8, :8])
    with pytest.raises(ShapeError, match="at least"): M.ssim_paper(img[..., :6, :6], img[..., :6, :6])
    with pytest.raises(InputError, match="fixes the SSIM range"): M.ssim(noisy, img, data_range=255, variant="paper")
    with pytest.raises(InputError, match="variant"): M.ssim(noisy, img, variant="skimage")
    with pytest.raises(ShapeError, match="same shape"): M.ssim(noisy, img[..., :32])


def test_ssim_paper_gradcheck():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(1, 1, 8, 8, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.rand(1, 1, 8, 8, generator=g, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: M.ssim_paper(a, y), (x,))


# ------------------------------------------------------------------ RoI helpers, IE
def test_atd_roi_and_crop():
    ann = {"image_size": [1280, 720], "motion_RoI": {"x": 101, "y": 50.5, "width": 400, "height": 301}}
    # sW = sH = 4/3: 101 / (4/3) = 75.75 → 75, 50.5 / (4/3) = 37.9 → 37, 400 / (4/3) = 300, 301 / (4/3) = 225.75 → 225
    assert M.atd_roi(ann) == (75, 37, 300, 225)
    assert M.atd_roi({"image_size": [960, 540], "motion_RoI": {"x": 1, "y": 2, "width": 3, "height": 4}}) == (1, 2, 3, 4)
    with pytest.raises(InputError, match="motion_RoI"): M.atd_roi({"image_size": [960, 540]})
    img = np.arange(6 * 8 * 3).reshape(6, 8, 3)
    assert (M.crop_roi(img, (1, 2, 3, 2)) == img[2:4, 1:4]).all()
    t = torch.from_numpy(img).permute(2, 0, 1)
    assert torch.equal(M.crop_roi(t, (1, 2, 3, 2)), t[:, 2:4, 1:4])
    assert M.crop_roi(t, (6, 4, 10, 10)).shape == (3, 2, 2)                 # cut at the border like slicing
    with pytest.raises(InputError): M.crop_roi(t, (0, 0, 0, 2))
    with pytest.raises(InputError): M.crop_roi(t, (0, 0, 2))
    with pytest.raises(ShapeError): M.crop_roi(t, (8, 0, 2, 2))


def test_interpolation_error():
    base = torch.full((2, 3, 4, 4), 0.5, dtype=torch.float64)
    d = torch.tensor([3., 4., 0.], dtype=torch.float64).view(1, 3, 1, 1) / 255
    assert M.interpolation_error(base + d, base).item() == pytest.approx(5.0, abs=1e-9)
    p = base.clone(); p[0, 0, :2] += 12 / 255                            # half of image 0 off by 12 in one channel
    assert M.interpolation_error(p, base, reduction="none").tolist() == pytest.approx([6.0, 0.0], abs=1e-9)


# ------------------------------------------------------------------ ranking / classification
def test_average_ranks():
    assert M.average_ranks([10, 20, 20, 5]).tolist() == [2.0, 3.5, 3.5, 1.0]
    assert M.average_ranks([1, 1, 1]).tolist() == [2.0, 2.0, 2.0]
    stats = pytest.importorskip("scipy.stats")
    x = np.random.default_rng(0).integers(0, 10, 200)
    np.testing.assert_allclose(M.average_ranks(x), stats.rankdata(x))


def test_roc_auc_known():
    assert M.roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert M.roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert M.roc_auc([0.3] * 6, [0, 1, 1, 0, 1, 0]) == 0.5
    assert M.roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == 0.75
    # one tie between a fake and a real: pairs (f=.5 vs r=.5) count 1/2 → (1 + 1 + 0.5 + 1)/4
    assert M.roc_auc([0.5, 0.9, 0.5, 0.1], [1, 1, 0, 0]) == pytest.approx(3.5 / 4)
    assert M.roc_auc(torch.tensor([0.1, 0.9]), torch.tensor([0, 1])) == 1.0
    assert M.roc_auc(np.array([0.1, 0.9]), np.array([False, True])) == 1.0


def test_roc_curve_points():
    fpr, tpr, thr = M.roc_curve([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    assert fpr.tolist() == [0, 0, 0.5, 0.5, 1]
    assert tpr.tolist() == [0, 0.5, 0.5, 1, 1]
    assert thr.tolist() == [np.inf, 0.8, 0.4, 0.35, 0.1]
    fpr, tpr, thr = M.roc_curve([0.5, 0.5, 0.2], [1, 0, 0])               # tied scores make one point
    assert fpr.tolist() == [0, 0.5, 1] and tpr.tolist() == [0, 1, 1] and thr.tolist() == [np.inf, 0.5, 0.2]
    assert np.trapezoid(tpr, fpr) == M.roc_auc([0.5, 0.5, 0.2], [1, 0, 0]) == 0.75


@pytest.mark.parametrize("ties", [False, True])
def test_auc_ap_match_torchmetrics(ties):
    from torchmetrics.functional.classification import binary_auroc, binary_average_precision
    rng = np.random.default_rng(3 + ties)
    y = rng.integers(0, 2, 300)
    s = np.clip(rng.normal(0.4 + 0.2 * y, 0.2), 0, 1)
    if ties: s = np.round(s, 1)
    ts, ty = torch.tensor(s), torch.tensor(y)
    assert M.roc_auc(s, y) == pytest.approx(binary_auroc(ts, ty).item(), abs=1e-6)
    assert M.average_precision(s, y) == pytest.approx(binary_average_precision(ts, ty).item(), abs=1e-6)


def test_binary_errors():
    with pytest.raises(InputError, match="needs both positive"): M.roc_auc([0.1, 0.2], [1, 1])
    with pytest.raises(InputError, match="only class 0"): M.roc_curve([0.1, 0.2], [0, 0])
    with pytest.raises(InputError, match="needs both"): M.eer([0.1, 0.2], [0, 0])
    with pytest.raises(ShapeError, match="same length"): M.roc_auc([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(ShapeError, match="1-D"): M.roc_auc([[0.1, 0.2]], [[0, 1]])
    with pytest.raises(InputError, match="NaN"): M.roc_auc([0.1, float("nan")], [0, 1])
    with pytest.raises(InputError, match="0 \\(real\\) or 1"): M.roc_auc([0.1, 0.2, 0.3], [0, 1, 2])
    with pytest.raises(InputError, match="at least one positive"): M.average_precision([0.1, 0.2], [0, 0])
    with pytest.raises(InputError, match="empty"): M.roc_auc([], [])
    assert issubclass(InputError, SynthlabError)


def test_eer_known():
    # ROC (FPR, FNR): (0,1) (0,.5) (1/3,.5) (1/3,0) ...; crossing 1/3 of the way from threshold 0.8 to 0.7
    e, th = M.eer([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 0, 0])
    assert e == pytest.approx(1 / 3, abs=1e-12) and th == pytest.approx(0.8 - 0.1 / 3, abs=1e-12)
    assert M.eer([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == (0.0, 0.8)
    assert M.eer([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])[0] == 1.0
    assert M.eer([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == (0.5, 0.4)
    # crossing on the first segment (threshold inf → first finite one): 1 fake + 1 real tied at the top
    e, th = M.eer([0.9, 0.9, 0.1, 0.1], [1, 0, 1, 0])
    assert e == pytest.approx(0.5) and th == 0.9


def test_eer_on_roc_and_gaussian():
    rng = np.random.default_rng(0)
    y = np.r_[np.zeros(4000, int), np.ones(4000, int)]
    s = np.r_[rng.normal(0, 1, 4000), rng.normal(2, 1, 4000)]
    e, th = M.eer(s, y)
    assert e == pytest.approx(0.1587, abs=0.01)          # Φ(-1) for unit Gaussians 2 apart
    assert th == pytest.approx(1.0, abs=0.1)            # the midpoint
    fpr_at = np.mean(s[y == 0] >= th); fnr_at = np.mean(s[y == 1] < th)
    assert fpr_at == pytest.approx(e, abs=2e-3) and fnr_at == pytest.approx(e, abs=2e-3)


def test_average_precision_known():
    assert M.average_precision([0.9, 0.5, 0.1], [1, 0, 1]) == pytest.approx((1 + 2 / 3) / 2, abs=1e-12)
    assert M.average_precision([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert M.average_precision([0.5] * 4, [0, 1, 0, 1]) == 0.5
    assert M.average_precision([0.9, 0.8, 0.7], [0, 0, 1]) == pytest.approx(1 / 3)
    assert M.average_precision([0.3, 0.2], [1, 1]) == 1.0                  # only positives is fine
    p, r, t = M.precision_recall_curve([0.9, 0.5, 0.1], [1, 0, 1])
    assert p.tolist() == pytest.approx([1, 0.5, 2 / 3]) and r.tolist() == [0.5, 0.5, 1] and t.tolist() == [0.9, 0.5, 0.1]


def test_accuracy():
    assert M.accuracy([0.2, 0.7, 0.5, 0.9], [0, 1, 1, 1]) == 0.75         # 0.5 is not > 0.5
    assert M.accuracy([0.2, 0.7, 0.5, 0.9], [0, 1, 1, 1], threshold=0.4) == 1.0
    assert M.accuracy(torch.tensor([[2., 1.], [0., 3.], [1., 0.]]), torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    assert M.accuracy([2, 1, 0], [2, 1, 1]) == pytest.approx(2 / 3)
    assert M.accuracy(np.array([True, False]), [1, 1]) == 0.5
    with pytest.raises(ShapeError, match="same length"): M.accuracy([0.1, 0.2], [0, 1, 1])
    with pytest.raises(ShapeError): M.accuracy(np.zeros((2, 2, 2)), [0, 1])
    with pytest.raises(InputError, match="integer"): M.accuracy([1, 0], [0.5, 1.0])


def test_confusion_and_multiclass():
    pred, tgt = [0, 2, 1, 1, 0, 2], [0, 1, 1, 1, 2, 2]
    assert M.confusion_matrix(pred, tgt, 3).tolist() == [[1, 0, 0], [0, 2, 1], [1, 0, 1]]
    assert M.confusion_matrix(pred, tgt, 4).shape == (4, 4)
    assert M.multiclass_accuracy(pred, tgt) == pytest.approx(4 / 6)
    assert M.multiclass_accuracy(pred, tgt, average="macro") == pytest.approx((1 + 2 / 3 + 1 / 2) / 3)
    logits = np.array([[0.1, 0.5, 0.4], [0.6, 0.3, 0.1]])
    assert M.multiclass_accuracy(logits, [2, 1]) == 0.0
    assert M.multiclass_accuracy(logits, [2, 1], top_k=2) == 1.0
    assert M.confusion_matrix(logits, [1, 0], 3).tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 0]]
    with pytest.raises(InputError, match="outside 0..2"): M.confusion_matrix([0, 3], [0, 1], 3)
    with pytest.raises(InputError, match="top_k"): M.multiclass_accuracy(logits, [2, 1], top_k=4)
    with pytest.raises(InputError, match="average"): M.multiclass_accuracy(pred, tgt, average="weighted")
    with pytest.raises(ShapeError, match="same length"): M.multiclass_accuracy(logits, [2, 1, 0])


def test_multiclass_matches_torchmetrics():
    from torchmetrics.functional.classification import multiclass_accuracy, multiclass_confusion_matrix
    rng = np.random.default_rng(5)
    logits = rng.normal(size=(200, 16)); tgt = rng.integers(0, 16, 200)
    tl, tt = torch.tensor(logits), torch.tensor(tgt)
    assert M.multiclass_accuracy(logits, tgt) == pytest.approx(multiclass_accuracy(tl, tt, 16, average="micro").item())
    assert M.multiclass_accuracy(logits, tgt, average="macro") == pytest.approx(multiclass_accuracy(tl, tt, 16, average="macro").item())
    assert M.multiclass_accuracy(logits, tgt, top_k=3) == pytest.approx(multiclass_accuracy(tl, tt, 16, average="micro", top_k=3).item())
    np.testing.assert_array_equal(M.confusion_matrix(logits, tgt, 16), multiclass_confusion_matrix(tl, tt, 16).numpy())


# ------------------------------------------------------------------ masks
def test_mask_iou_known():
    gt = torch.zeros(3, 4, 4); gt[0, :2, :2] = 1; gt[2, 0, 0] = 1
    pr = torch.zeros(3, 4, 4); pr[0, :2, :3] = 0.8                      # 6 predicted, 4 right → 4/6
    v = M.mask_iou(pr, gt, reduction="none")
    assert v.tolist() == pytest.approx([4 / 6, 1.0, 0.0])               # empty ∪ empty = 1; missed pixel = 0
    assert M.mask_iou(pr, gt).item() == pytest.approx((4 / 6 + 1) / 3)
    assert M.mask_iou(pr, gt, threshold=0.9, gt_threshold=0.5, reduction="none").tolist() == [0.0, 1.0, 0.0]
    sw = M.mask_iou_sweep(pr, gt, (0.5, 0.9))
    assert list(sw) == ["IoU@0.5", "IoU@0.9"] and sw["IoU@0.9"] == pytest.approx(1 / 3)
    # threshold is strict: a value equal to the threshold is not "manipulated"
    assert M.mask_iou(torch.full((1, 2, 2), 0.5), torch.ones(1, 2, 2)).item() == 0.0


def test_mask_inputs_and_errors():
    gt = np.zeros((4, 4), np.uint8); gt[1:3, 1:3] = 255
    assert M.mask_iou(gt, gt).item() == 1.0
    assert M.mask_iou(gt > 0, torch.from_numpy(gt)[None, None]).item() == 1.0
    assert M.mask_l1(gt, np.zeros((4, 4), np.uint8)).item() == pytest.approx(4 / 16)
    with pytest.raises(ShapeError, match="same shape"): M.mask_iou(gt, gt[:2])
    with pytest.raises(ShapeError): M.mask_l1(np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 4, 4)))
    with pytest.raises(InputError): M.mask_l1(gt, gt, reduction="max")


def test_mask_l1_known_and_grad():
    gt = torch.zeros(2, 4, 4); gt[0, :2, :2] = 1
    pr = torch.zeros(2, 4, 4); pr[0, :2, :3] = 0.8; pr[1] = 0.25
    assert M.mask_l1(pr, gt, reduction="none").tolist() == pytest.approx([(4 * 0.2 + 2 * 0.8) / 16, 0.25])
    p = pr.clone().requires_grad_(); M.mask_l1(p, gt).backward()
    assert p.grad.abs().sum() > 0


# ------------------------------------------------------------------ temporal
def test_segment_iou():
    v = M.segment_iou((0, 10), [(0, 10), (5, 15), (20, 30), (0, 6), (2, 4)])
    assert v.tolist() == pytest.approx([1, 5 / 15, 0, 0.6, 0.2])
    assert M.segment_iou((3, 3), [(3, 3)]).tolist() == [0.0]          # zero-length union → 0
    assert M.segment_iou((0, 10), (5, 15)).tolist() == pytest.approx([1 / 3])
    with pytest.raises(ShapeError): M.segment_iou((0, 1, 2), [(0, 1)])


GT1 = [("v", 0, 10)]


def test_ap_at_tiou_known():
    assert M.ap_at_tiou([("v", 0, 10, 0.9)], GT1) == {"AP@0.5": 1.0, "AP@0.75": 1.0, "AP@0.95": 1.0, "mAP": 1.0}
    r = M.ap_at_tiou([("v", 0, 6, 0.9)], GT1)                           # tIoU 0.6
    assert (r["AP@0.5"], r["AP@0.75"], r["AP@0.95"]) == (1.0, 0.0, 0.0) and r["mAP"] == pytest.approx(1 / 3)
    assert M.ap_at_tiou([], GT1) == {"AP@0.5": 0.0, "AP@0.75": 0.0, "AP@0.95": 0.0, "mAP": 0.0}
    assert M.ap_at_tiou([("v", 0, 10, 0.9)], GT1 + [("w", 0, 5)], (0.5,))["AP@0.5"] == 0.5   # half the forgeries found


def test_ap_duplicate_is_false_positive():
    two = [("v", 0, 10, 0.9), ("v", 0, 10, 0.8)]
    assert M.match_segments(two, GT1).tolist() == [True, False]
    assert M.ap_at_tiou(two, GT1, (0.5,))["AP@0.5"] == 1.0           # the FP comes after full recall: no cost
    two = [("v", 0, 6, 0.9), ("v", 0, 10, 0.8)]                          # the worse one is ranked first
    assert M.match_segments(two, GT1, 0.5).tolist() == [True, False]
    assert M.match_segments(two, GT1, 0.75).tolist() == [False, True]
    assert M.ap_at_tiou(two, GT1, (0.5, 0.75)) == {"AP@0.5": 1.0, "AP@0.75": 0.5, "mAP": 0.75}
    # input order does not matter, the score does
    assert M.ap_at_tiou(two[::-1], GT1, (0.75,))["AP@0.75"] == 0.5


def test_ap_interpolated_envelope():
    gt = [("a", 0, 10), ("b", 20, 30)]
    preds = [("a", 0, 10, .9), ("a", 40, 50, .8), ("b", 20, 30, .7)]   # P = 1, 1/2, 2/3 at R = 1/2, 1/2, 1
    assert M.ap_at_tiou(preds, gt, (0.5,))["AP@0.5"] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-12)
    preds = [("a", 0, 10, .9), ("c", 0, 10, .8), ("b", 20, 30, .7)]    # unknown video → FP
    assert M.ap_at_tiou(preds, gt, (0.5,))["AP@0.5"] == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-12)
    # a gt matched to its best tIoU, a second prediction may take the other gt
    gt = [("a", 0, 10), ("a", 8, 20)]
    assert M.match_segments([("a", 0, 10, .9), ("a", 1, 10, .8)], gt, 0.5).tolist() == [True, False]
    assert M.match_segments([("a", 0, 10, .9), ("a", 8, 19, .8)], gt, 0.5).tolist() == [True, True]


def _reference_ap(preds, gts, thr):
    "Independent, loop-only ActivityNet AP: greedy matching, then Σ over TPs of (1/npos)·max precision at or after it."
    preds = sorted(preds, key=lambda p: -p[3])
    used, hits = set(), []
    for v, s, e, _ in preds:
        best, bj = -1.0, None
        for j, (gv, gs, ge) in enumerate(gts):
            if gv != v or j in used: continue
            inter = max(0.0, min(e, ge) - max(s, gs)); iou = inter / ((e - s) + (ge - gs) - inter)
            if iou >= thr and iou > best: best, bj = iou, j
        hits.append(bj is not None)
        if bj is not None: used.add(bj)
    prec = [sum(hits[:i + 1]) / (i + 1) for i in range(len(hits))]
    return sum(max(prec[i:]) / len(gts) for i in range(len(hits)) if hits[i])


def test_ap_matches_loop_reference():
    rng = np.random.default_rng(7)
    gts = [(f"v{i}", float(s), float(s + rng.uniform(5, 20))) for i in range(6) for s in (rng.uniform(0, 30), rng.uniform(50, 80))]
    preds = [(v, s + rng.normal(0, 2), e + rng.normal(0, 2), float(rng.uniform())) for v, s, e in gts for _ in range(2)]
    preds += [(f"v{rng.integers(0, 8)}", float(s), float(s + 10), float(rng.uniform())) for s in rng.uniform(0, 90, 10)]
    preds = [(v, min(s, e), max(s, e), sc) for v, s, e, sc in preds]
    got = M.ap_at_tiou(preds, gts, (0.3, 0.5, 0.75))
    for t in (0.3, 0.5, 0.75):
        assert got[f"AP@{t:g}"] == pytest.approx(_reference_ap(preds, gts, t), abs=1e-12)
    assert got["mAP"] == pytest.approx(np.mean([got["AP@0.3"], got["AP@0.5"], got["AP@0.75"]]))


def test_segment_errors():
    with pytest.raises(InputError, match="ends before it starts"): M.ap_at_tiou([("v", 5, 1, .9)], GT1)
    with pytest.raises(InputError, match="ends before it starts"): M.ap_at_tiou([("v", 0, 1, .9)], [("v", 9, 2)])
    with pytest.raises(ShapeError, match="tuple of 4"): M.ap_at_tiou([("v", 0, 1)], GT1)
    with pytest.raises(ShapeError, match="tuple of 3"): M.ap_at_tiou([("v", 0, 1, .5)], [("v", 0)])
    with pytest.raises(InputError, match="no ground-truth"): M.ap_at_tiou([("v", 0, 1, .9)], [])
    with pytest.raises(InputError, match="no ground-truth"): M.ar_at_an([("v", 0, 1, .9)], [])
    with pytest.raises(InputError, match="empty"): M.ap_at_tiou([("v", 0, 1, .9)], GT1, ())


def test_ar_at_an_known():
    # perfect: recall 1 at every AN; the AR-AN area is ∫_1^100 1 dAN / 100 = 0.99 (the curve starts at AN = 1)
    assert M.ar_at_an([("v", 0, 10, 0.9)], GT1) == pytest.approx({"AR@1": 1.0, "AR@5": 1.0, "AR@10": 1.0, "AR@100": 1.0, "AUC": 0.99})
    r = M.ar_at_an([("v", 20, 30, 0.9), ("v", 0, 10, 0.5)], GT1, an=(1, 2, 5))   # top-1 misses, top-2 finds it
    assert (r["AR@1"], r["AR@2"], r["AR@5"]) == (0.0, 1.0, 1.0)
    assert M.ar_at_an([("v", 0, 6.8, 0.9)], GT1, an=(1,))["AR@1"] == pytest.approx(0.4)   # tIoU .68 passes .5,.55,.6,.65
    assert M.ar_at_an([("v", 0, 6, 0.9)], GT1, an=(1,))["AR@1"] == pytest.approx(0.3)     # tIoU exactly .6 counts at .6
    assert M.ar_at_an([("w", 0, 10, 0.9)], GT1, an=(1,))["AR@1"] == 0.0                   # proposals for another video
    r = M.ar_at_an([("a", 0, 10, .9)], [("a", 0, 10), ("b", 0, 10)], an=(1, 100))          # recall pooled over segments
    assert r["AR@1"] == 0.5 and r["AR@100"] == 0.5
    with pytest.raises(InputError, match="not on the curve"): M.ar_at_an([("v", 0, 1, .9)], GT1, an=(3,), max_avg_nr_proposals=40)
    with pytest.raises(InputError, match="not on the curve"): M.ar_at_an([("v", 0, 1, .9)], GT1, an=(200,))
    with pytest.raises(InputError, match="> 0"): M.ar_at_an([("v", 0, 1, .9)], GT1, max_avg_nr_proposals=0)


def test_ar_at_an_matches_topk_reference():
    "With exactly 100 proposals per video, AR@AN is plain recall of the top-AN proposals, averaged over tIoU .5:.05:.95."
    rng = np.random.default_rng(11)
    gts, props = [], []
    for i in range(4):
        for s in rng.uniform(0, 80, 2): gts.append((f"v{i}", float(s), float(s + rng.uniform(5, 20))))
        for _ in range(100):
            s = float(rng.uniform(0, 90)); props.append((f"v{i}", s, s + float(rng.uniform(2, 25)), float(rng.uniform())))
    thr = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
    def ref(an):
        rec = []
        for t in thr:
            found = 0
            for v, gs, ge in gts:
                top = sorted([p for p in props if p[0] == v], key=lambda p: -p[3])[:an]
                found += any(M.segment_iou((gs, ge), [(p[1], p[2])])[0] >= t for p in top)
            rec.append(found / len(gts))
        return float(np.mean(rec))
    ans = (1, 2, 5, 10, 20, 29, 50, 57, 100)
    got = M.ar_at_an(props, gts, an=ans)
    for a in ans: assert got[f"AR@{a}"] == pytest.approx(ref(a), abs=1e-12), a
    ppv, avg, rec = M.ar_an_curve(props, gts)
    assert ppv.shape == avg.shape == (100,) and rec.shape == (10, 100)
    assert ppv[0] == pytest.approx(1) and ppv[-1] == pytest.approx(100) and np.all(np.diff(avg) >= 0)
    assert got["AUC"] == pytest.approx(np.trapezoid(avg, ppv) / 100)


# ------------------------------------------------------------------ table and plots
def test_summary_table():
    t = M.summary_table({"AUC": 0.91234, "n": 3, "PSNR": float("inf")})
    assert t == "| metric | value |\n|---|---:|\n| AUC | 0.9123 |\n| n | 3 |\n| PSNR | inf |"
    assert t._repr_markdown_() == str(t)
    t = M.summary_table({"m1": {"x": 1.0}, "m2": {"y": torch.tensor(2.0)}}, digits=1)
    assert t == "| | x | y |\n|---|---:|---:|\n| m1 | 1.0 |  |\n| m2 |  | 2.0 |"
    with pytest.raises(InputError): M.summary_table({})


def test_plots_smoke():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    s, y = [0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 0, 0]
    ax = M.plot_roc(s, y, label="toy")
    assert any("EER 0.333" in t.get_text() for t in ax.get_legend().get_texts())
    ax2 = M.plot_pr(s, y)
    assert any("AP" in t.get_text() for t in ax2.get_legend().get_texts())
    plt.close("all")


@pytest.mark.parametrize("sigma", [1.5, 0.8])
def test_ssim_standard_equals_torchmetrics_float64(sigma):
    "Our separable float64 Gaussian SSIM is torchmetrics' structural_similarity_index_measure, number for number."
    from torchmetrics.functional.image import structural_similarity_index_measure as tm_ssim
    g = torch.Generator().manual_seed(3)
    a = torch.rand(2, 3, 37, 52, generator=g, dtype=torch.float64)
    b = (a + 0.1 * torch.randn(a.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    win = 2 * int(3.5 * sigma + 0.5) + 1
    ref = tm_ssim(b, a, gaussian_kernel=True, sigma=sigma, kernel_size=win, data_range=1.0, reduction="none")
    torch.testing.assert_close(M.ssim(b, a, sigma=sigma, reduction="none"), ref, atol=1e-10, rtol=0)
