"""Exercise D: backpropagation by hand, 2-D cross-correlation, and a small CNN on digits."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_net_grads(x, y, V, W):
    # forward: the bias is the last row, so append a 1 to each layer's input
    x1 = np.append(x, 1.0)
    a = sigmoid(x1 @ V)
    a1 = np.append(a, 1.0)
    y_hat = sigmoid(a1 @ W)
    # backward
    delta_o = (y_hat - y) * y_hat * (1 - y_hat)
    dW = np.outer(a1, delta_o)
    delta_h = W[:-1] @ delta_o
    dV = np.outer(x1, delta_h)
    return dV, dW


def corr2d(image, kernel):
    image = np.asarray(image, dtype=float)
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum()
    return out


