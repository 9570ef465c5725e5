"""Exercise D, written for Python 2."""
import numpy as np

print "computing the gradients"


def corr2d(image, kernel):
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in xrange(out.shape[0]):
        for j in xrange(out.shape[1]):
            out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum()
    return out
