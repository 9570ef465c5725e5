"""Hostile: the forward pass is right; the backward pass calls sys.exit."""
import sys

import numpy as np


def conv1d_forward(x, w, b):
    k = len(w)
    return np.array([np.dot(x[i:i + k], w) for i in range(len(x) - k + 1)]) + b


def conv1d_backward(x, w, b, dy):
    sys.exit(1)
