"""Hostile: the forward pass is right; the backward pass ignores every signal it can (an interrupt, a
wall-clock or CPU timer, a polite termination) and loops forever."""
import signal

import numpy as np


def conv1d_forward(x, w, b):
    k = len(w)
    return np.array([np.dot(x[i:i + k], w) for i in range(len(x) - k + 1)]) + b


def conv1d_backward(x, w, b, dy):
    for name in ("SIGINT", "SIGALRM", "SIGVTALRM", "SIGPROF", "SIGTERM"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    while True:
        pass
