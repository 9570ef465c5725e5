"""reference/data.py: the digits splits, zero-filling shifts, the cs231n toy problem, toy seq2seq."""
from collections import Counter

import numpy as np
import pytest
from sklearn.datasets import load_digits

from reference.data import (digits, seq2seq_translation_table, shift_images, shifted_digits,
                            toy_seq2seq, toy_twolayer_problem)


def test_digits_splits_are_disjoint_scaled_and_complete():
    d = digits()
    sizes = [len(d.X_train), len(d.X_val), len(d.X_test)]
    assert sum(sizes) == 1797
    for X, y in ((d.X_train, d.y_train), (d.X_val, d.y_val), (d.X_test, d.y_test)):
        assert X.dtype == np.float64 and X.shape == (len(y), 64)
        assert X.min() == 0.0 and X.max() == 1.0
        assert set(np.unique(y)) == set(range(10))
    # disjoint and complete: every (image, label) of sklearn's data set is in exactly one split
    dataset = load_digits()
    whole = Counter((tuple(x / 16.0), int(t)) for x, t in zip(dataset.data, dataset.target))
    assert set(whole.values()) == {1}  # no image occurs twice, so a shared row would be a shared sample
    parts = [Counter(zip(map(tuple, X), map(int, y))) for X, y in
             ((d.X_train, d.y_train), (d.X_val, d.y_val), (d.X_test, d.y_test))]
    for a, b in ((0, 1), (0, 2), (1, 2)):
        assert not parts[a].keys() & parts[b].keys()
    assert sum(parts, Counter()) == whole
    assert d.images_val.shape == (len(d.y_val), 8, 8)
    assert np.array_equal(d.images_val[3].ravel(), d.X_val[3])
    assert np.array_equal(d["X_test"], d.X_test)
    # same seed, same split; another seed, another split
    assert np.array_equal(digits(0).X_val, d.X_val)
    assert not np.array_equal(digits(1).X_val, d.X_val)


def _shift_by_definition(img, dx, dy):
    H, W = img.shape
    out = np.zeros_like(img)
    for r in range(H):
        for c in range(W):
            if 0 <= r - dy < H and 0 <= c - dx < W:
                out[r, c] = img[r - dy, c - dx]
    return out


@pytest.mark.parametrize("dx, dy", [(0, 0), (1, 0), (0, 1), (-1, 0), (0, -2), (2, -1), (-3, 3),
                                    (7, 0), (8, 0), (0, -9)])
def test_shift_images_matches_definition(dx, dy):
    img = np.random.default_rng(0).random((8, 8))
    assert np.array_equal(shift_images(img, dx, dy), _shift_by_definition(img, dx, dy))
    batch = np.stack([img, 2 * img])
    assert np.array_equal(shift_images(batch, dx, dy)[1], _shift_by_definition(2 * img, dx, dy))


def test_shift_images_does_not_wrap_around():
    img = np.zeros((8, 8))
    img[:, 7] = 1.0                      # right-most column lit
    shifted = shift_images(img, 1, 0)
    assert shifted.sum() == 0.0          # np.roll would have moved it to column 0
    assert np.roll(img, 1, axis=1).sum() == 8.0
    assert np.array_equal(shift_images(img, -1, 0)[:, 6], np.ones(8))


def test_shifted_digits_moves_every_image_by_a_small_shift():
    d = digits()
    X, y = shifted_digits(seed=0, max_shift=1)
    assert X.shape == d.X_val.shape and np.array_equal(y, d.y_val)
    originals = d.images_val
    candidates = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if (dx, dy) != (0, 0)]
    for img, orig in zip(X.reshape(-1, 8, 8), originals):
        assert not np.array_equal(img, orig)
        assert any(np.array_equal(img, shift_images(orig, dx, dy)) for dx, dy in candidates)
    assert np.array_equal(shifted_digits(seed=0)[0], X)
    assert not np.array_equal(shifted_digits(seed=1)[0], X)


def test_toy_problem_is_the_notebooks_and_leaves_global_rng_alone():
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    X, y, params = toy_twolayer_problem()
    assert np.random.random() == before
    assert X.shape == (5, 4) and params["W1"].shape == (4, 10) and params["W2"].shape == (10, 3)
    assert np.array_equal(y, [0, 1, 2, 2, 1])
    assert not params["b1"].any() and not params["b2"].any()


def test_toy_seq2seq_is_a_fixed_token_translation():
    src, tgt = toy_seq2seq(50, seq_len=7, seed=3)
    table = seq2seq_translation_table()
    assert src.shape == tgt.shape == (50, 7)
    assert sorted(table) == list(range(10)) and (table != np.arange(10)).any()
    assert np.array_equal(tgt, table[src])
    assert np.array_equal(toy_seq2seq(50, seq_len=7, seed=3)[0], src)


def test_the_stored_digits_are_scikit_learns_and_its_split():
    """reference/digits.npz (so that grading imports no scikit-learn) holds exactly what scikit-learn gives."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from reference.data import digits

    d = load_digits()
    X, y = d.data.astype(np.float64) / 16.0, d.target.astype(np.int64)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)
    X_train, X_val, y_train, y_val = train_test_split(X_rest, y_rest, test_size=0.25, random_state=0, stratify=y_rest)
    stored = digits()
    for name, expected in (("X_train", X_train), ("y_train", y_train), ("X_val", X_val), ("y_val", y_val),
                           ("X_test", X_test), ("y_test", y_test)):
        got = getattr(stored, name)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), name
    assert digits().X_train is not stored.X_train  # fresh arrays every time: a caller may change them
