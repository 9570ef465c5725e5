"""Small PyTorch models and one training loop shared by the references (B4, A's equivariance
experiment, C5, D3).

Every digits model takes flat (N, 64) or image (N, 8, 8) inputs, so the same data feeds an MLP
and a CNN. Training is deterministic: seeded, single-threaded, deterministic algorithms, and the
caller's global torch RNG / thread settings are restored afterwards.
"""
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn


@contextmanager
def deterministic(seed, threads=1):
    """Seed torch, pin the thread count and force deterministic kernels; undo it all on exit."""
    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(old_det)
            torch.set_num_threads(old_threads)


class _Predicts:
    """predict(X) on numpy in, numpy labels out: the interface the grader compares on."""

    def predict(self, X):
        self.eval()
        with torch.no_grad():
            out = self(torch.as_tensor(np.asarray(X), dtype=torch.float32))
        return out.argmax(dim=1).numpy()


class MultiLayerPerceptron(_Predicts, nn.Module):
    """Flatten, then (Linear + ReLU) for each entry of hidden_layers, then a Linear to the classes."""

    def __init__(self, input_size, hidden_layers, num_classes):
        super().__init__()
        layers, width = [nn.Flatten()], input_size
        for h in hidden_layers:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class DigitsCNN(_Predicts, nn.Module):
    """C5's CNN: conv 3x3 (valid) -> ReLU -> 2x2 max-pool -> flatten -> linear to 10 classes."""

    def __init__(self, channels=16):
        super().__init__()
        self.conv = nn.Conv2d(1, channels, 3)
        self.fc = nn.Linear(channels * 3 * 3, 10)

    def forward(self, x):
        x = x.reshape(-1, 1, 8, 8)
        x = torch.max_pool2d(torch.relu(self.conv(x)), 2)
        return self.fc(x.flatten(1))


class SmallCNN(_Predicts, nn.Module):
    """D3 / equivariance CNN: two padded 3x3 conv + ReLU + 2x2 pool stages, then a linear layer.

    Padding keeps borders, and pooling gives some tolerance to shifts; the final linear layer
    still ties features to positions, which is why it is not fully shift invariant.
    """

    def __init__(self, c1=16, c2=32):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, padding=1)
        self.fc = nn.Linear(c2 * 2 * 2, 10)

    def forward(self, x):
        x = x.reshape(-1, 1, 8, 8)
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def train_torch_model(model, X, y, epochs=20, lr=1e-3, seed=0, batch_size=64, weight_decay=0.0):
    """Adam on mean cross-entropy, shuffled minibatches from np.random.default_rng(seed).

    Trains the model in place and returns the per-epoch mean training loss. For a fully
    reproducible run build the model inside deterministic(seed) too (the helpers below do).
    """
    X = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    rng = np.random.default_rng(seed)
    losses = []
    with deterministic(seed):
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        model.train()
        for _ in range(epochs):
            order = torch.as_tensor(rng.permutation(len(X)))
            total = 0.0
            for start in range(0, len(X), batch_size):
                idx = order[start:start + batch_size]
                loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            losses.append(total / len(X))
    model.eval()
    return losses


def accuracy(model_or_predict, X, y):
    """Fraction of correct labels; accepts an object with .predict, a torch module, or a function
    X -> labels (or X -> scores, argmax is taken when it returns 2-D)."""
    f = getattr(model_or_predict, "predict", None)
    if f is None and isinstance(model_or_predict, nn.Module):
        with torch.no_grad():
            out = model_or_predict(torch.as_tensor(np.asarray(X), dtype=torch.float32)).numpy()
    else:
        out = np.asarray((f or model_or_predict)(X))
    if out.ndim == 2:
        out = out.argmax(axis=1)
    return float(np.mean(out == np.asarray(y)))


def build_and_train(make_model, X, y, seed=0, **train_kwargs):
    """Build the model under deterministic(seed) (so its init is seeded) and train it."""
    with deterministic(seed):
        model = make_model()
    train_torch_model(model, X, y, seed=seed, **train_kwargs)
    return model


def equivariance_experiment(seed=0, max_shift=1, epochs=30):
    """A's experiment on digits: MLP and CNN trained on unshifted images, evaluated on the
    unshifted and on a shifted validation set. Returns {"mlp": (acc, shifted_acc), "cnn": (...)}.
    Expected shape: both high unshifted, both drop when shifted, the CNN drops less.
    """
    from reference.data import digits, shifted_digits
    d = digits()
    X_shift, y_shift = shifted_digits(seed=seed, max_shift=max_shift)
    out = {}
    for name, make in (("mlp", lambda: MultiLayerPerceptron(64, [128], 10)), ("cnn", SmallCNN)):
        model = build_and_train(make, d.X_train, d.y_train, seed=seed, epochs=epochs, lr=3e-3)
        out[name] = (accuracy(model, d.X_val, d.y_val), accuracy(model, X_shift, y_shift))
    return out
