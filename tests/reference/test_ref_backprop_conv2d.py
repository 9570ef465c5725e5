"""reference/backprop_conv2d.py (assignment D)."""
import numpy as np
import pytest

from reference import backprop_conv2d as bc
from reference.twolayer import numeric_gradient, rel_error


def _random_net(seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(2), rng.random(2), rng.standard_normal((3, 2)),
            rng.standard_normal((3, 2)))


@pytest.mark.parametrize("seed", range(5))
def test_update_rules_match_autograd(seed):
    x, y, V, W = _random_net(seed)
    dV, dW = bc.sigmoid_net_grads(x, y, V, W)
    aV, aW = bc.sigmoid_net_grads_autograd(x, y, V, W)
    assert dV.shape == V.shape and dW.shape == W.shape
    assert np.allclose(dV, aV, rtol=1e-12, atol=1e-14)
    assert np.allclose(dW, aW, rtol=1e-12, atol=1e-14)


def test_update_rules_match_numeric_gradient():
    x, y, V, W = _random_net(7)
    dV, dW = bc.sigmoid_net_grads(x, y, V, W)
    f = lambda _: bc.sigmoid_net_loss(x, y, V, W)
    # tiny entries (~1e-6) carry finite-difference noise, hence an absolute floor too
    assert np.allclose(numeric_gradient(f, V), dV, rtol=1e-6, atol=1e-10)
    assert np.allclose(numeric_gradient(f, W), dW, rtol=1e-6, atol=1e-10)
    assert rel_error(numeric_gradient(f, W), dW) < 1e-6


def test_forward_uses_bias_rows_and_sigmoid_everywhere():
    x, y = np.array([0.0, 0.0]), np.array([0.0, 1.0])
    V = np.zeros((3, 2))
    V[2] = [1.0, -1.0]                      # only hidden biases
    W = np.zeros((3, 2))
    a, y_hat = bc.sigmoid_net_forward(x, V, W)
    assert np.allclose(a, bc.sigmoid(np.array([1.0, -1.0])))
    assert np.allclose(y_hat, [0.5, 0.5])   # zero output weights -> sigmoid(0)
    assert bc.sigmoid_net_loss(x, y, V, W) == pytest.approx(0.5 * (0.25 + 0.25))


def test_sobel_x():
    assert np.array_equal(bc.corr2d(bc.IMAGE_5x5, bc.SOBEL_X),
                          [[11, 0, -11], [10, 0, -10], [11, 0, -11]])


def test_sobel_y():
    assert np.array_equal(bc.corr2d(bc.IMAGE_5x5, bc.SOBEL_Y),
                          [[-9, -10, -9], [0, 0, 0], [9, 10, 9]])


def test_laplace():
    assert np.array_equal(bc.corr2d(bc.IMAGE_5x5, bc.LAPLACE),
                          [[-1, 9, -1], [-6, -2, -6], [-1, 9, -1]])


@pytest.mark.parametrize("kernel", [bc.SOBEL_X, bc.SOBEL_Y])
def test_flipped_sobel_inverts_signs(kernel):
    assert np.array_equal(bc.conv2d(bc.IMAGE_5x5, kernel), -bc.corr2d(bc.IMAGE_5x5, kernel))
    assert bc.flip_is_distinguishable(bc.IMAGE_5x5, kernel)


def test_flipping_laplace_changes_nothing():
    assert np.array_equal(bc.flip_kernel(bc.LAPLACE), bc.LAPLACE)
    assert np.array_equal(bc.conv2d(bc.IMAGE_5x5, bc.LAPLACE), bc.corr2d(bc.IMAGE_5x5, bc.LAPLACE))
    assert not bc.flip_is_distinguishable(bc.IMAGE_5x5, bc.LAPLACE)


def test_flip_kernel_is_rot180():
    k = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(bc.flip_kernel(k), np.rot90(k, 2))
    assert np.array_equal(bc.flip_kernel(bc.flip_kernel(k)), k)


def test_small_cnn_and_feed_forward_on_digits():
    cnn, cnn_val, cnn_test = bc.train_digits_cnn_small()
    mlp, mlp_val, mlp_test = bc.train_digits_mlp()
    assert cnn_val >= 0.95 and cnn_test >= 0.95
    assert mlp_val >= 0.93 and mlp_test >= 0.93
    from reference.data import digits
    d = digits()
    assert cnn.predict(d.images_test).shape == d.y_test.shape     # images or flat rows
    assert np.array_equal(cnn.predict(d.images_test), cnn.predict(d.X_test))
