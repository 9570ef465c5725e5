"""Reference for assignment A, "Convolution by hand (1-D)": every expected value is computed here.

The layer is a valid, stride-1 cross-correlation with a scalar bias,
``y_i = sum_j w_j x_{i+j} + b``, trained with ``L = 1/2 ||y - y_hat||^2`` and plain SGD.
The equivariance experiment's data comes from reference.data (its reference run is
reference.models.equivariance_experiment).
"""

from __future__ import annotations

import numpy as np

from reference.data import digits_array, digits_public, shifted_digits_array, shifted_digits_public


def conv1d_forward(x, w, b):
    """y_i = sum_j w_j x_{i+j} + b, for every i where the kernel fits inside x."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    n_out = len(x) - len(w) + 1
    return np.array([x[i : i + len(w)] @ w for i in range(n_out)]) + float(b)


def conv1d_backward(x, w, b, dy):
    """Gradients of a scalar loss through the layer, given dL/dy: returns (dL/dx, dL/dw, dL/db)."""
    x, w, dy = (np.asarray(a, dtype=float) for a in (x, w, dy))
    dx = np.zeros_like(x)
    for i, g in enumerate(dy):  # y_i touched x[i : i + k] through w
        dx[i : i + len(w)] += g * w
    dw = np.array([x[j : j + len(dy)] @ dy for j in range(len(w))])
    db = float(dy.sum())
    return dx, dw, db


def squared_error(y_hat, y):
    """L = 1/2 ||y - y_hat||^2."""
    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)
    return 0.5 * float(diff @ diff)


def squared_error_grad(y_hat, y):
    """dL/dy_hat = y_hat - y."""
    return np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)


def sgd_step(param, grad, learning_rate):
    """One step of gradient descent: param - learning_rate * grad."""
    return np.asarray(param, dtype=float) - learning_rate * np.asarray(grad, dtype=float)


# ---- known mistakes, for naming them in a hand-in (rubric distractors): same signatures ----------


def conv1d_forward_no_bias(x, w, b):
    """Mistake: the bias left out, y_i = sum_j w_j x_{i+j}."""
    return conv1d_forward(x, w, 0.0)


def squared_error_mean(y_hat, y):
    """Mistake: the mean over the outputs where the sheet sums, L = 1/2 mean (y - y_hat)^2.

    (The mean without the 1/2 equals the sheet's loss for two outputs: no claim can be made about it.)
    """
    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)
    return 0.5 * float(np.mean(diff * diff))


def squared_error_grad_mean(y_hat, y):
    """Mistake: the gradient of the mean loss, (y_hat - y) / n."""
    diff = np.asarray(y_hat, dtype=float) - np.asarray(y, dtype=float)
    return diff / diff.size


def conv1d_backward_mean_db(x, w, b, dy):
    """Mistake: dL/db as the mean of dL/dy; the bias feeds every output, so its gradient is their sum."""
    dx, dw, _ = conv1d_backward(x, w, b, dy)
    return dx, dw, float(np.mean(np.asarray(dy, dtype=float)))


# What a rubric may call (grader.references): the checks' references, their known mistakes, transforms and data.
RUBRIC_FUNCTIONS = {f.__name__: f for f in (
    conv1d_forward,
    conv1d_backward,
    squared_error,
    squared_error_grad,
    sgd_step,
    conv1d_forward_no_bias,
    squared_error_mean,
    squared_error_grad_mean,
    conv1d_backward_mean_db,
    digits_array,
    shifted_digits_array,
    digits_public,
    shifted_digits_public,
)}
