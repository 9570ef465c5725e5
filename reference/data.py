"""Datasets the references train and check on.

Everything here is offline (scikit-learn's bundled 8x8 digits, or generated from a seed), so the
grader never needs a network and every call with the same seed returns the same arrays.
"""
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Digits:
    """Train/val/test splits of the 8x8 digits; X_* are (N, 64) float64 in [0, 1], y_* int64."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    # Images as (N, 8, 8): what a CNN or shift_images wants.
    @property
    def images_train(self):
        return self.X_train.reshape(-1, 8, 8)

    @property
    def images_val(self):
        return self.X_val.reshape(-1, 8, 8)

    @property
    def images_test(self):
        return self.X_test.reshape(-1, 8, 8)

    def __getitem__(self, key):
        """Dict-style access too (d["X_train"]), for code that expects a dict."""
        return getattr(self, key)


DIGITS_FILE = Path(__file__).with_name("digits.npz")  # sklearn's digits and the default split: `python -m reference.data`


def digits(seed=0, val_fraction=0.2, test_fraction=0.2):
    """Stratified 60/20/20 split of sklearn's digits (1797 images), pixels scaled 0..16 -> [0, 1].

    The default split comes from ``digits.npz`` (scikit-learn's images and the split's indices, written
    from scikit-learn by ``python -m reference.data`` and checked against it by the tests), so that the
    grader need not import scikit-learn, seconds of start-up, to grade a training check."""
    if (seed, val_fraction, test_fraction) == (0, 0.2, 0.2) and DIGITS_FILE.exists():
        X, y, parts = _stored_digits()
        return Digits(*(array for part in parts for array in (X[part], y[part])))  # (indexing copies: fresh arrays)
    X, y, parts = _sklearn_digits(seed, val_fraction, test_fraction)
    return Digits(*(array for part in parts for array in (X[part], y[part])))


@lru_cache(maxsize=1)
def _stored_digits():
    with np.load(DIGITS_FILE) as stored:
        X, y = stored["pixels"].astype(np.float64) / 16.0, stored["target"].astype(np.int64)
        return X, y, tuple(stored[part].astype(np.int64) for part in ("train", "val", "test"))


def _sklearn_digits(seed, val_fraction, test_fraction):
    """scikit-learn's digits and the (train, val, test) indices of a stratified split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    X = d.data.astype(np.float64) / 16.0
    y = d.target.astype(np.int64)
    rest, test = train_test_split(np.arange(len(y)), test_size=test_fraction, random_state=seed, stratify=y)
    train, val = train_test_split(rest, test_size=val_fraction / (1.0 - test_fraction), random_state=seed, stratify=y[rest])
    return X, y, (train, val, test)


def write_digits_file(path=DIGITS_FILE):
    """Write ``digits.npz`` from scikit-learn: its images (uint8 pixels 0..16), labels, the default split."""
    X, y, (train, val, test) = _sklearn_digits(0, 0.2, 0.2)
    np.savez_compressed(path, pixels=np.rint(X * 16).astype(np.uint8), target=y.astype(np.uint8),
                        train=train.astype(np.int16), val=val.astype(np.int16), test=test.astype(np.int16))


def shift_images(images, dx, dy):
    """Shift images (..., H, W) right by dx and down by dy whole pixels, filling with zeros.

    Unlike np.roll nothing wraps around: what leaves the frame is lost, which is what a camera
    (and the equivariance experiment) sees. Negative dx / dy shift left / up.
    """
    images = np.asarray(images)
    H, W = images.shape[-2:]
    out = np.zeros_like(images)
    if abs(dx) >= W or abs(dy) >= H:
        return out
    src_r = slice(max(0, -dy), H - max(0, dy))
    dst_r = slice(max(0, dy), H - max(0, -dy))
    src_c = slice(max(0, -dx), W - max(0, dx))
    dst_c = slice(max(0, dx), W - max(0, -dx))
    out[..., dst_r, dst_c] = images[..., src_r, src_c]
    return out


def shifted_digits(seed=0, max_shift=1, split="val", data_seed=0):
    """A digits split with each image shifted by a random (dx, dy) in [-max_shift, max_shift]^2.

    (0, 0) is redrawn so every image really moves. One pixel is already 1/8 of the frame (like
    3-4 pixels of MNIST), enough to show the effect. Returns (X, y) with X flattened to (N, 64),
    the same layout as digits(); reshape to (N, 8, 8) for a CNN.
    """
    d = digits(data_seed)
    images, y = getattr(d, "images_" + split), getattr(d, "y_" + split)
    rng = np.random.default_rng(seed)
    out = np.empty_like(images)
    for n, img in enumerate(images):
        dx = dy = 0
        while dx == 0 and dy == 0:
            dx, dy = rng.integers(-max_shift, max_shift + 1, size=2)
        out[n] = shift_images(img, int(dx), int(dy))
    return out.reshape(len(out), -1), y.copy()


def toy_twolayer_problem():
    """The cs231n two_layer_net notebook's toy problem, seeded exactly as the notebook does.

    Model first (np.random.seed(0); TwoLayerNet(4, 10, 3, std=1e-1) draws W1 then W2), then data
    (np.random.seed(1); X = 10 * randn(5, 4)). Uses the legacy global RNG on purpose, because that
    is what reproduces the notebook's numbers (loss 1.30378789133 at reg=0.05); the global state
    is saved and restored so callers are not disturbed.
    Returns (X, y, params) with params a dict W1 (4, 10), b1 (10,), W2 (10, 3), b2 (3,).
    """
    input_size, hidden_size, num_classes, num_inputs = 4, 10, 3, 5
    state = np.random.get_state()
    try:
        np.random.seed(0)
        std = 1e-1
        params = {
            "W1": std * np.random.randn(input_size, hidden_size),
            "b1": np.zeros(hidden_size),
            "W2": std * np.random.randn(hidden_size, num_classes),
            "b2": np.zeros(num_classes),
        }
        np.random.seed(1)
        X = 10 * np.random.randn(num_inputs, input_size)
    finally:
        np.random.set_state(state)
    y = np.array([0, 1, 2, 2, 1])
    return X, y, params


# ---- toy "translation" for C6 ---------------------------------------------------------------

SEQ_VOCAB = 10     # source and target tokens are 0..9
SEQ_BOS = 10       # decoder start token (target side only)


def seq2seq_translation_table(seed=0):
    """The fixed token-to-token 'dictionary' of the toy translation task (a permutation of 0..9)."""
    return np.random.default_rng(seed + 12345).permutation(SEQ_VOCAB)


def toy_seq2seq(n, seq_len=12, seed=0, table_seed=0):
    """Toy character-level translation: target_t = table[source_t], same order.

    Every output token depends on one input token far back in the sequence, so an encoder that
    must squeeze the whole sentence into one hidden vector struggles while attention can look
    the token up directly: that is the effect C6 wants to show, at a size that trains in seconds.
    Returns (src, tgt), int64 arrays of shape (n, seq_len).
    """
    rng = np.random.default_rng(seed)
    src = rng.integers(0, SEQ_VOCAB, size=(n, seq_len))
    tgt = seq2seq_translation_table(table_seed)[src]
    return src.astype(np.int64), tgt.astype(np.int64)


# ---- arrays by name, for rubrics ------------------------------------------------------------
# A rubric's `given` names the data it sends to a student's training code or model, e.g.
# `X_train: {call: digits_array, args: [X_train]}`. Cached, and copied on the way out.

_DIGITS_CACHE = {}


def digits_array(name, seed=0):
    """One array of digits(seed) by name: X_train, y_train, X_val, y_val, X_test or y_test."""
    if seed not in _DIGITS_CACHE:
        _DIGITS_CACHE[seed] = digits(seed)
    return getattr(_DIGITS_CACHE[seed], name).copy()


PUBLIC_SAMPLE = 300  # training images (which students have anyway) a student kit checks experiments on


def digits_public(name, seed=0):
    """A public stand-in for a held-out split, for student kits: "X" or "y" of the first PUBLIC_SAMPLE
    training images. The grader measures on the validation, test and shifted splits, which a kit never holds."""
    d = digits_array("X_train" if name == "X" else "y_train", seed)
    return d[:PUBLIC_SAMPLE]


def shifted_digits_public(name, seed=0, max_shift=1):
    """The public stand-in for the shifted set: "X" or "y" of the first PUBLIC_SAMPLE training images, shifted."""
    return shifted_digits_array(name, seed, max_shift, split="train")[:PUBLIC_SAMPLE]


def shifted_digits_array(name, seed=0, max_shift=1, split="val"):
    """"X" or "y" of shifted_digits(seed, max_shift, split): the equivariance experiment's shifted set."""
    X, y = shifted_digits(seed=seed, max_shift=max_shift, split=split)
    return {"X": X, "y": y}[name]


def toy_seq2seq_array(name, n, seq_len=10, seed=0):
    """"src" or "tgt" of toy_seq2seq(n, seq_len, seed)."""
    src, tgt = toy_seq2seq(n, seq_len, seed=seed)
    return {"src": src, "tgt": tgt}[name]


if __name__ == "__main__":
    write_digits_file()
    print(f"wrote {DIGITS_FILE}")
