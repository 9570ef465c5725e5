"""Exercise C: output sizes, convolution as a matrix, parameter counts, attention, training."""
import numpy as np
import torch
from torch import nn


# C1
def conv_output_size(H, W, M, N, padding=0, stride=1):
    H_out = (H - M + 2 * padding) // stride + 1
    W_out = (W - N + 2 * padding) // stride + 1
    return H_out, W_out


# C3
def count_params_cnn(H, W, M, N, num_classes):
    conv = M * N + 1
    Hp, Wp = (H - M + 1) // 2, (W - N + 1) // 2
    return conv + (Hp * Wp + 1) * num_classes


def count_params_fc(H, W, num_classes):
    return (H * W + 1) * num_classes


