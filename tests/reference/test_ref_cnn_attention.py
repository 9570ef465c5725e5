"""reference/cnn_attention.py (assignment C)."""
import numpy as np
import pytest
import torch
from torch import nn

from reference import cnn_attention as ca
from reference.data import digits
from reference.models import accuracy


@pytest.mark.parametrize("H, W, M, N, p, s", [
    (5, 5, 3, 3, 0, 1), (28, 28, 5, 5, 0, 1), (7, 9, 2, 4, 0, 1), (32, 32, 3, 3, 1, 1),
    (32, 30, 5, 3, 2, 2), (10, 11, 3, 3, 0, 3), (8, 8, 8, 8, 0, 1)])
def test_conv_output_size_matches_torch(H, W, M, N, p, s):
    conv = nn.Conv2d(1, 1, (M, N), padding=p, stride=s)
    expected = tuple(conv(torch.zeros(1, 1, H, W)).shape[-2:])
    assert ca.conv_output_size(H, W, M, N, padding=p, stride=s) == expected
    if p == 0 and s == 1:
        assert expected == (H - M + 1, W - N + 1)


def test_vec_is_column_major():
    assert np.array_equal(ca.vec(np.array([[1, 2], [3, 4]])), [1, 3, 2, 4])


@pytest.mark.parametrize("H, W, M, N", [(5, 5, 3, 3), (4, 6, 2, 3), (6, 4, 3, 1), (3, 3, 3, 3),
                                        (7, 5, 1, 1)])
def test_conv_matrix_reproduces_corr2d_on_random_inputs(H, W, M, N):
    rng = np.random.default_rng(H * 100 + W * 10 + M)
    kernel = rng.standard_normal((M, N))
    mat = ca.conv_matrix(kernel, H, W)
    Ho, Wo = ca.conv_output_size(H, W, M, N)
    assert mat.shape == (Ho * Wo, H * W)
    for _ in range(5):
        x = rng.standard_normal((H, W))
        assert np.allclose(mat @ ca.vec(x), ca.vec(ca.corr2d(x, kernel)))
    # the row-major vec is a different (wrong) answer whenever the shapes are not trivial
    if Ho * Wo > 1 and M * N > 1 and min(H, W) > 1:
        x = rng.standard_normal((H, W))
        assert not np.allclose(mat @ x.ravel(), ca.corr2d(x, kernel).ravel())


def test_corr2d_matches_torch_cross_correlation():
    rng = np.random.default_rng(0)
    x, k = rng.standard_normal((6, 7)), rng.standard_normal((3, 2))
    expected = nn.functional.conv2d(torch.tensor(x)[None, None], torch.tensor(k)[None, None])
    assert np.allclose(ca.corr2d(x, k), expected[0, 0].numpy())


def _torch_count(H, W, M, N, C):
    conv = nn.Conv2d(1, 1, (M, N))
    feat = nn.functional.max_pool2d(conv(torch.zeros(1, 1, H, W)), 2).numel()
    layers = [conv, nn.Linear(feat, C)]
    return sum(p.numel() for layer in layers for p in layer.parameters())


SIZES = [(28, 28, 5, 5, 3), (5, 5, 3, 3, 3), (32, 32, 3, 3, 3), (9, 7, 2, 2, 3), (8, 8, 3, 3, 10),
         (13, 11, 4, 2, 3)]


@pytest.mark.parametrize("H, W, M, N, C", SIZES)
def test_param_counts_match_torch(H, W, M, N, C):
    n = ca.count_params_cnn(H, W, M, N, C)
    assert isinstance(n, int) and n == _torch_count(H, W, M, N, C)
    fc = ca.count_params_fc(H, W, C)
    assert isinstance(fc, int)
    assert fc == sum(p.numel() for p in nn.Linear(H * W, C).parameters())


@pytest.mark.parametrize("H, W, M, N, C", SIZES)
def test_mistake_variants_differ_from_correct(H, W, M, N, C):
    correct = ca.count_params_cnn(H, W, M, N, C)
    assert ca.count_params_cnn_no_conv_bias(H, W, M, N, C) == correct - 1
    assert ca.count_params_cnn_no_linear_bias(H, W, M, N, C) == correct - C
    assert ca.count_params_cnn_no_bias(H, W, M, N, C) == correct - 1 - C
    assert ca.count_params_cnn_no_pool(H, W, M, N, C) > correct
    assert ca.count_params_cnn_same_padding(H, W, M, N, C) >= correct  # equal when pooling hides it
    assert ca.count_params_cnn_ceil_pool(H, W, M, N, C) >= correct
    assert ca.count_params_fc_no_bias(H, W, C) == ca.count_params_fc(H, W, C) - C


def test_same_padding_variant_is_detectable_on_usual_sizes():
    assert ca.count_params_cnn_same_padding(28, 28, 5, 5, 3) > ca.count_params_cnn(28, 28, 5, 5, 3)


def test_ceil_pool_differs_only_for_odd_conv_outputs():
    assert ca.count_params_cnn_ceil_pool(5, 5, 3, 3, 3) > ca.count_params_cnn(5, 5, 3, 3, 3)
    assert ca.count_params_cnn_ceil_pool(28, 28, 5, 5, 3) == ca.count_params_cnn(28, 28, 5, 5, 3)


@pytest.mark.parametrize("shape", [(2, 2), (3, 2), (4, 4)])
def test_self_attention_matches_torch_sdpa(shape):
    x = np.random.default_rng(1).standard_normal(shape)
    z = ca.self_attention_identity(x)
    assert z.shape == (x.size, 1)
    xc = torch.tensor(ca.vec(x)).reshape(1, -1, 1)
    expected = nn.functional.scaled_dot_product_attention(xc, xc, xc)[0].numpy()
    assert np.allclose(z, expected)


def test_self_attention_is_a_convex_combination_of_pixels():
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    z = ca.self_attention_identity(x)
    assert np.all(z <= x.max() + 1e-12) and np.all(z >= x.min() - 1e-12)
    big = ca.self_attention_identity(np.array([[100.0, 0.0], [0.0, 0.0]]))  # no overflow
    assert np.isfinite(big).all() and big[0, 0] == pytest.approx(100.0)


def test_lr_sweep_shape_of_result():
    sweep = ca.lr_sweep()
    assert list(sweep) == [0.01, 0.0005, 0.00001]
    best = max(sweep, key=sweep.get)
    assert sweep[best] >= 0.95
    assert sweep[0.00001] == min(sweep.values()) and sweep[0.00001] < 0.5
    model, val_acc = ca.train_digits_cnn(best)
    assert val_acc == sweep[best]
    d = digits()
    assert accuracy(model, d.X_test, d.y_test) >= 0.93


def test_attention_lowers_error_rate():
    without = ca.train_seq2seq(attention=False, seed=0)
    with_att = ca.train_seq2seq(attention=True, seed=0)
    assert with_att < 0.2 < 0.5 < without
    assert with_att < 0.5 * without
