"""Reference for D: backprop through a 2-2-2 sigmoid network, 2-D cross-correlation by hand,
and a small CNN against a feed-forward network on the digits.
"""
import numpy as np
import torch

from reference.models import MultiLayerPerceptron, SmallCNN, accuracy, build_and_train

# ---- D1: the 2-2-2 sigmoid network ------------------------------------------------------------
#
# Conventions (the assignment's): sigmoid on the hidden AND the output layer, biases, loss
# L = 1/2 * sum_k (y_hat_k - y_k)^2 for one sample (no 1/N). Biases live in the last row of each
# weight matrix, i.e. each layer sees its input augmented with a constant 1:
#   V (3, 2): V[i, j] = v_ij for input i -> hidden j, V[2, j] = hidden bias j
#   W (3, 2): W[j, k] = w_jk for hidden j -> output k, W[2, k] = output bias k


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _augment(v):
    return np.append(v, 1.0)


def sigmoid_net_forward(x, V, W):
    """Returns (a, y_hat): hidden activations a = s([x, 1] V), outputs y_hat = s([a, 1] W)."""
    a = sigmoid(_augment(x) @ V)
    y_hat = sigmoid(_augment(a) @ W)
    return a, y_hat


def sigmoid_net_loss(x, y, V, W):
    """L = 1/2 * sum (y_hat - y)^2."""
    _, y_hat = sigmoid_net_forward(x, V, W)
    return float(0.5 * np.sum((y_hat - y) ** 2))


def sigmoid_net_grads(x, y, V, W):
    """(dL/dV, dL/dW) by the update rules of D1, shapes (3, 2) each (bias rows included):

    delta_o_k = (y_hat_k - y_k) y_hat_k (1 - y_hat_k);   dL/dw_jk = delta_o_k a_j
    delta_h_j = a_j (1 - a_j) sum_k delta_o_k w_jk;       dL/dv_ij = delta_h_j x_i
    with a_2 = x_2 = 1 for the bias rows. The bias row of W does not feed back into delta_h.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    a, y_hat = sigmoid_net_forward(x, V, W)
    delta_o = (y_hat - y) * y_hat * (1.0 - y_hat)
    dW = np.outer(_augment(a), delta_o)
    delta_h = a * (1.0 - a) * (W[:2] @ delta_o)
    dV = np.outer(_augment(x), delta_h)
    return dV, dW


# Known wrong versions, for naming a mistake (rubric distractors). Same signature and shapes.

def sigmoid_net_grads_no_output_derivative(x, y, V, W):
    """Mistake: delta_o_k = y_hat_k - y_k, the output sigmoid's derivative y_hat (1 - y_hat) left out."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    a, y_hat = sigmoid_net_forward(x, V, W)
    delta_o = y_hat - y
    delta_h = a * (1.0 - a) * (W[:2] @ delta_o)
    return np.outer(_augment(x), delta_h), np.outer(_augment(a), delta_o)


def sigmoid_net_grads_no_hidden_derivative(x, y, V, W):
    """Mistake: delta_h_j = sum_k delta_o_k w_jk, the hidden sigmoid's derivative a_j (1 - a_j) left out."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    a, y_hat = sigmoid_net_forward(x, V, W)
    delta_o = (y_hat - y) * y_hat * (1.0 - y_hat)
    delta_h = W[:2] @ delta_o
    return np.outer(_augment(x), delta_h), np.outer(_augment(a), delta_o)


def sigmoid_net_grads_sign_flipped(x, y, V, W):
    """Mistake: the error taken as y - y_hat, so both gradients point uphill."""
    dV, dW = sigmoid_net_grads(x, y, V, W)
    return -dV, -dW


def sigmoid_net_grads_autograd(x, y, V, W):
    """The same gradients by torch.autograd in float64: an independent cross-check."""
    x, y = (torch.as_tensor(np.asarray(v, dtype=np.float64)) for v in (x, y))
    Vt = torch.tensor(np.asarray(V, dtype=np.float64), requires_grad=True)
    Wt = torch.tensor(np.asarray(W, dtype=np.float64), requires_grad=True)
    one = torch.ones(1, dtype=torch.float64)
    a = torch.sigmoid(torch.cat([x, one]) @ Vt)
    y_hat = torch.sigmoid(torch.cat([a, one]) @ Wt)
    loss = 0.5 * torch.sum((y_hat - y) ** 2)
    loss.backward()
    return Vt.grad.numpy(), Wt.grad.numpy()


# ---- D2: 2-D cross-correlation ----------------------------------------------------------------

IMAGE_5x5 = np.array([[5, 5, 2, 5, 5],
                      [5, 5, 2, 5, 5],
                      [7, 7, 5, 7, 7],
                      [5, 5, 2, 5, 5],
                      [5, 5, 2, 5, 5]], dtype=np.float64)
SOBEL_X = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float64)
SOBEL_Y = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float64)
LAPLACE = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)


def corr2d(image, kernel):
    """Valid, stride-1 cross-correlation: out[i, j] = sum_ab kernel[a, b] image[i + a, j + b]."""
    image, kernel = np.asarray(image, dtype=np.float64), np.asarray(kernel, dtype=np.float64)
    M, N = kernel.shape
    H_out, W_out = image.shape[0] - M + 1, image.shape[1] - N + 1
    out = np.empty((H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[i, j] = np.sum(image[i:i + M, j:j + N] * kernel)
    return out


def flip_kernel(kernel):
    """Rotate by 180 degrees: true convolution is corr2d(image, flip_kernel(kernel))."""
    return np.asarray(kernel)[::-1, ::-1].copy()


def conv2d(image, kernel):
    """True (flipped-kernel) convolution, valid, stride 1: the classic student mix-up."""
    return corr2d(image, flip_kernel(kernel))


def flip_is_distinguishable(image, kernel):
    """Whether convolving instead of correlating changes the answer for this input.

    False for a symmetric kernel such as LAPLACE: there a 'you flipped the kernel' remark would
    be unfounded, so the grader may only make it when this is True.
    """
    return not np.allclose(corr2d(image, kernel), conv2d(image, kernel))


# ---- D3: small CNN against a feed-forward network on digits ------------------------------------

from reference.data import digits_array, digits_public  # noqa: E402

def _fit_digits(make_model, seed, epochs, lr):
    from reference.data import digits
    d = digits()
    model = build_and_train(make_model, d.X_train, d.y_train, seed=seed, epochs=epochs, lr=lr)
    return model, accuracy(model, d.X_val, d.y_val), accuracy(model, d.X_test, d.y_test)


def train_digits_cnn_small(seed=0, epochs=30, lr=3e-3):
    """SmallCNN (two conv stages + linear) on digits. Returns (model, val_acc, test_acc);
    model.predict(X) takes (N, 64) or (N, 8, 8) arrays."""
    return _fit_digits(SmallCNN, seed, epochs, lr)


def train_digits_mlp(seed=0, epochs=30, lr=3e-3, hidden_layers=(128,)):
    """The feed-forward baseline for D3, same data and optimiser. Returns (model, val_acc, test_acc)."""
    return _fit_digits(lambda: MultiLayerPerceptron(64, list(hidden_layers), 10), seed, epochs, lr)


# What a rubric may call (grader.references): the checks' references, their known mistakes, transforms and data.
RUBRIC_FUNCTIONS = {f.__name__: f for f in (
    sigmoid_net_grads_autograd,
    sigmoid_net_grads_no_hidden_derivative,
    sigmoid_net_grads_no_output_derivative,
    sigmoid_net_grads_sign_flipped,
    corr2d,
    conv2d,
    digits_array,
    digits_public,
)}
