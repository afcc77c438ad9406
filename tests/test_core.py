"Unit tests of synthlab.core: smoke, known values, exceptions, gradients."
import random
import numpy as np
import pytest
import torch
from synthlab.core import (SynthlabError, ShapeError, InputError, OverwriteError, CheckpointError, MissingFileError,
                           seed_everything, get_device, img2tensor, tensor2img, pad_to_multiple, unpad, check_image_batch)

def test_error_hierarchy_and_message():
    e = ShapeError("bad", "fix it")
    assert str(e) == "bad (fix it)" and isinstance(e, ValueError) and isinstance(e, SynthlabError)
    assert isinstance(OverwriteError("x"), FileExistsError)
    assert isinstance(MissingFileError("x"), FileNotFoundError)
    assert isinstance(CheckpointError("x"), ValueError)
    assert str(InputError("only")) == "only"

def test_seed_everything_reproduces_all_generators():
    seed_everything(7); a = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(7); b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b
    seed_everything(8); c = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a != c

@pytest.mark.parametrize("bad", [-1, 1.5, "3"])
def test_seed_rejects_bad(bad):
    with pytest.raises(InputError): seed_everything(bad)

def test_get_device():
    assert get_device("cpu") == torch.device("cpu")
    with pytest.raises(InputError, match="unknown device"): get_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available"): get_device("cuda")

def test_img2tensor_known_values():
    img = np.array([[[0, 255, 51]]], dtype=np.uint8)
    t = img2tensor(img)
    assert t.shape == (1, 3, 1, 1)
    torch.testing.assert_close(t.flatten(), torch.tensor([0.0, 1.0, 0.2]))

def test_roundtrip_uint8_exact():
    img = np.random.default_rng(1).integers(0, 256, (6, 9, 3), dtype=np.uint8)
    assert np.array_equal(tensor2img(img2tensor(img)), img)
    batch = tensor2img(img2tensor([img, img[::-1].copy()]))
    assert isinstance(batch, list) and np.array_equal(batch[1], img[::-1])

def test_gray_expands_and_float_accepted():
    g = np.full((4, 5), 128, np.uint8)
    t = img2tensor(g)
    assert t.shape == (1, 3, 4, 5) and torch.allclose(t, torch.full_like(t, 128 / 255))
    f = np.full((2, 2, 3), 0.5, np.float32)
    assert torch.allclose(img2tensor(f), torch.full((1, 3, 2, 2), 0.5))

@pytest.mark.parametrize("bad,match", [
    (np.zeros((4, 4, 4), np.uint8), "RGBA"),
    (np.zeros((4, 4, 2), np.uint8), "1 or 3 channels"),
    (np.zeros((2, 4, 4, 3), np.uint8), r"\(H, W\)"),
    (np.zeros((0, 4, 3), np.uint8), "empty"),
    (np.full((2, 2, 3), 2.0, np.float32), r"\[0, 1\]"),
    (np.zeros((2, 2, 3), np.int64), "dtype"),
])
def test_img2tensor_errors(bad, match):
    with pytest.raises(SynthlabError, match=match): img2tensor(bad)

def test_mismatched_sizes_named():
    with pytest.raises(ShapeError, match="mismatched sizes"):
        img2tensor([np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8)])

def test_tensor2img_clips_and_rejects():
    t = torch.tensor([-1.0, 0.5, 2.0]).reshape(1, 3, 1, 1)
    assert tensor2img(t).tolist() == [[[0, 128, 255]]]
    with pytest.raises(ShapeError): tensor2img(torch.zeros(1, 4, 2, 2))
    with pytest.raises(InputError): tensor2img(np.zeros((2, 2, 3)))

@pytest.mark.parametrize("h,w,m", [(5, 7, 8), (16, 16, 8), (1, 1, 4), (31, 17, 16)])
def test_pad_unpad_roundtrip(h, w, m):
    x = torch.rand(2, 3, h, w)
    y, pads = pad_to_multiple(x, m)
    assert y.shape[-2] % m == 0 and y.shape[-1] % m == 0
    assert y.shape[-2] - h < m and y.shape[-1] - w < m
    assert torch.equal(unpad(y, pads), x)

def test_pad_known_values():
    x = torch.arange(6.).reshape(1, 1, 2, 3)
    y, pads = pad_to_multiple(x, 4)
    assert pads == (0, 1, 1, 1)
    # replicate padding copies edge values
    assert y[0, 0, 0].tolist() == [0, 1, 2, 2] and y[0, 0, -1].tolist() == [3, 4, 5, 5]

def test_pad_errors():
    with pytest.raises(ShapeError): pad_to_multiple(torch.zeros(3), 8)
    with pytest.raises(InputError): pad_to_multiple(torch.zeros(1, 1, 3, 3), 0)

def test_pad_gradient():
    x = torch.rand(1, 1, 3, 5, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: unpad(*pad_to_multiple(t, 4)).sum() + pad_to_multiple(t, 4)[0].pow(2).sum(), (x,))

def test_check_image_batch():
    x = torch.rand(1, 3, 4, 4)
    assert check_image_batch(x) is x
    with pytest.raises(ShapeError, match="3 channels"): check_image_batch(torch.rand(1, 4, 4, 4))
    with pytest.raises(InputError, match="float"): check_image_batch(torch.zeros(1, 3, 4, 4, dtype=torch.uint8))
    with pytest.raises(ShapeError, match="mismatched frame sizes"): check_image_batch(x, same_as=torch.rand(1, 3, 4, 5))
