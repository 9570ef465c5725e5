import numpy as np

def conv_output_size(H, W, M, N, padding=0, stride=1):
    print "sizes", H, W
    return (H - M + 2 * padding) / stride + 1, (W - N + 2 * padding) / stride + 1
