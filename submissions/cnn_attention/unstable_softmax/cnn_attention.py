"""Exercise C: output sizes, convolution as a matrix, parameter counts, attention, training."""
import numpy as np
import torch
from torch import nn


# C1
def conv_output_size(H, W, M, N, padding=0, stride=1):
    H_out = (H - M + 2 * padding) // stride + 1
    W_out = (W - N + 2 * padding) // stride + 1
    return H_out, W_out


# C2: column k of M is what the convolution does to the k-th unit image (column-major order)
def corr2d(x, k):
    M, N = k.shape
    return np.array([[np.sum(x[i:i + M, j:j + N] * k) for j in range(x.shape[1] - N + 1)]
                     for i in range(x.shape[0] - M + 1)])


def conv_matrix(kernel, H, W):
    kernel = np.asarray(kernel, dtype=float)
    columns = []
    for k in range(H * W):
        e = np.zeros(H * W)
        e[k] = 1.0
        image = e.reshape((H, W), order="F")
        columns.append(corr2d(image, kernel).flatten(order="F"))
    return np.stack(columns, axis=1)


# C3
def count_params_cnn(H, W, M, N, num_classes):
    conv = M * N + 1
    Hp, Wp = (H - M + 1) // 2, (W - N + 1) // 2
    return conv + (Hp * Wp + 1) * num_classes


def count_params_fc(H, W, num_classes):
    return (H * W + 1) * num_classes


# C4
def self_attention_identity(x):
    v = np.asarray(x, dtype=float).flatten(order="F").reshape(-1, 1)
    scores = v @ v.T / np.sqrt(1)
    weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    return weights @ v


# C5
class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 16, kernel_size=3)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16 * 3 * 3, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv(x.view(-1, 1, 8, 8))))
        return self.fc(x.view(x.size(0), -1))

    def predict(self, X):
        with torch.no_grad():
            return self(torch.from_numpy(np.asarray(X, dtype=np.float32))).argmax(1).numpy()


def train_cnn(X, y, lr, epochs=15, batch_size=64):
    X = torch.from_numpy(np.asarray(X, dtype=np.float32))
    y = torch.from_numpy(np.asarray(y, dtype=np.int64))
    model = CNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for start in range(0, len(X), batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(X[batch]), y[batch])
            loss.backward()
            optimizer.step()
    return model


# C6
START = 10


class Translator(nn.Module):
    def __init__(self, attention, vocab=10, emb=16, hidden=32):
        super().__init__()
        self.attention = attention
        self.src_embed = nn.Embedding(vocab, emb)
        self.tgt_embed = nn.Embedding(vocab + 1, emb)
        self.encoder = nn.GRU(emb, hidden, batch_first=True)
        self.decoder = nn.GRU(emb, hidden, batch_first=True)
        self.head = nn.Linear(2 * hidden if attention else hidden, vocab)

    def _decode(self, tokens, memory, state):
        out, state = self.decoder(self.tgt_embed(tokens), state)
        if self.attention:
            weights = torch.softmax(out @ memory.transpose(1, 2), dim=-1)
            out = torch.cat([out, weights @ memory], dim=-1)
        return self.head(out), state

    def forward(self, src, tgt):
        memory, state = self.encoder(self.src_embed(src))
        start = torch.full((len(tgt), 1), START, dtype=torch.long)
        return self._decode(torch.cat([start, tgt[:, :-1]], dim=1), memory, state)[0]

    def translate(self, src):
        src = torch.as_tensor(np.asarray(src), dtype=torch.long)
        with torch.no_grad():
            memory, state = self.encoder(self.src_embed(src))
            token = torch.full((len(src), 1), START, dtype=torch.long)
            result = []
            for _ in range(src.shape[1]):
                logits, state = self._decode(token, memory, state)
                token = logits.argmax(-1)
                result.append(token)
        return torch.cat(result, dim=1).numpy()


def train_translator(src, tgt, attention, epochs=4, lr=1e-2, batch_size=64):
    src = torch.as_tensor(np.asarray(src), dtype=torch.long)
    tgt = torch.as_tensor(np.asarray(tgt), dtype=torch.long)
    model = Translator(attention)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        order = torch.randperm(len(src))
        for start in range(0, len(src), batch_size):
            batch = order[start:start + batch_size]
            logits = model(src[batch], tgt[batch])
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[batch].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model
