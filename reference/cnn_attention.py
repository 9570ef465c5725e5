"""Reference for C: output sizes, convolution as a matrix, parameter counts, a one-number
self-attention, a learning-rate sweep for a digits CNN, and attention on a toy translation task.
"""
import numpy as np
import torch
from torch import nn

from reference.backprop_conv2d import conv2d, corr2d
from reference.data import SEQ_BOS, SEQ_VOCAB, digits, digits_array, digits_public, toy_seq2seq, toy_seq2seq_array
from reference.models import DigitsCNN, accuracy, build_and_train, deterministic

# ---- C1: output size --------------------------------------------------------------------------


def conv_output_size(H, W, M, N, padding=0, stride=1):
    """(H_out, W_out) = floor((in - k + 2p) / s) + 1 per axis; valid stride 1 gives H-M+1, W-N+1."""
    return (H - M + 2 * padding) // stride + 1, (W - N + 2 * padding) // stride + 1


def conv_output_size_no_floor(H, W, M, N, padding=0, stride=1):
    """Mistake: (in - k + 2p) / s + 1 without rounding down (a fraction when the stride does not fit)."""
    return (H - M + 2 * padding) / stride + 1, (W - N + 2 * padding) / stride + 1


def conv_output_size_single_padding(H, W, M, N, padding=0, stride=1):
    """Mistake: padding added once instead of on both sides."""
    return (H - M + padding) // stride + 1, (W - N + padding) // stride + 1


# ---- C2: convolution as a matrix --------------------------------------------------------------


def vec(x):
    """Column-major vectorisation (stack the columns), as in the assignment's x' = vec(x)."""
    return np.asarray(x).reshape(-1, order="F")


def conv_matrix(kernel, H, W):
    """M of shape (H'W', HW) with M @ vec(x) == vec(corr2d(x, kernel)) for every H x W image x.

    Row p + q H' (output pixel (p, q)) holds kernel[a, b] in column (p + a) + (q + b) H
    (input pixel (p + a, q + b)): both indices column-major.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    M_, N_ = kernel.shape
    H_out, W_out = conv_output_size(H, W, M_, N_)
    mat = np.zeros((H_out * W_out, H * W))
    for p in range(H_out):
        for q in range(W_out):
            for a in range(M_):
                for b in range(N_):
                    mat[p + q * H_out, (p + a) + (q + b) * H] = kernel[a, b]
    return mat


def conv_matrix_row_major(kernel, H, W):
    """Mistake: M built for row-major vec (rows stacked): right for x.ravel(), wrong for vec(x)."""
    kernel = np.asarray(kernel, dtype=np.float64)
    M_, N_ = kernel.shape
    H_out, W_out = conv_output_size(H, W, M_, N_)
    mat = np.zeros((H_out * W_out, H * W))
    for p in range(H_out):
        for q in range(W_out):
            for a in range(M_):
                for b in range(N_):
                    mat[p * W_out + q, (p + a) * W + (q + b)] = kernel[a, b]
    return mat


# A matrix is checked by what it does: M @ vec(x) for random probe images x. The rubric passes the
# probes (shape (P, H, W)) first, then the student's inputs (kernel, H, W).

def apply_matrix(M, probes):
    """The transform applied to a student's M: the rows M @ vec(x), one per probe image x."""
    M = np.asarray(M, dtype=np.float64)
    probes = np.asarray(probes, dtype=np.float64)
    if M.ndim != 2 or M.shape[1] != probes[0].size:
        raise ValueError(f"M has shape {M.shape}; it must have one column per pixel ({probes[0].size})")
    return np.stack([M @ vec(x) for x in probes])


def corr2d_probes(probes, kernel, H, W):
    """What a right M does to each probe: vec(corr2d(x, kernel))."""
    return np.stack([vec(corr2d(x, kernel)) for x in np.asarray(probes, dtype=np.float64)])


def corr2d_probes_row_major(probes, kernel, H, W):
    """What the row-major mistake's matrix does to vec(x)."""
    return apply_matrix(conv_matrix_row_major(kernel, H, W), probes)


def corr2d_probes_flipped(probes, kernel, H, W):
    """What a matrix of the flipped kernel (true convolution) does to vec(x)."""
    return np.stack([vec(conv2d(x, kernel)) for x in np.asarray(probes, dtype=np.float64)])


# ---- C3: parameter counts ---------------------------------------------------------------------
# The network: one M x N conv filter (weights + 1 bias) -> valid conv -> 2x2 max-pool (floor,
# no parameters) -> flatten -> linear to num_classes (weights + biases).


def _pooled_size(H, W, M, N, ceil=False):
    Hc, Wc = conv_output_size(H, W, M, N)
    if ceil:
        return -(-Hc // 2), -(-Wc // 2)
    return Hc // 2, Wc // 2


def count_params_cnn(H, W, M, N, num_classes):
    """Correct count: (M N + 1) for the filter + (H_p W_p + 1) num_classes for the linear layer."""
    Hp, Wp = _pooled_size(H, W, M, N)
    return (M * N + 1) + (Hp * Wp + 1) * num_classes


def count_params_fc(H, W, num_classes):
    """A fully connected layer from the H W pixels to num_classes, with biases."""
    return (H * W + 1) * num_classes


# Wrong-convention variants, for recognising a specific mistake in a hand-in.

def count_params_cnn_no_conv_bias(H, W, M, N, num_classes):
    """Mistake: the conv filter's bias forgotten."""
    return count_params_cnn(H, W, M, N, num_classes) - 1


def count_params_cnn_no_linear_bias(H, W, M, N, num_classes):
    """Mistake: the linear layer's biases forgotten."""
    return count_params_cnn(H, W, M, N, num_classes) - num_classes


def count_params_cnn_no_bias(H, W, M, N, num_classes):
    """Mistake: no biases anywhere."""
    return count_params_cnn(H, W, M, N, num_classes) - 1 - num_classes


def count_params_cnn_no_pool(H, W, M, N, num_classes):
    """Mistake: the max-pool ignored, the linear layer sees the whole conv output."""
    Hc, Wc = conv_output_size(H, W, M, N)
    return (M * N + 1) + (Hc * Wc + 1) * num_classes


def count_params_cnn_ceil_pool(H, W, M, N, num_classes):
    """Mistake (or other convention): pooling rounds odd sizes up (ceil_mode)."""
    Hp, Wp = _pooled_size(H, W, M, N, ceil=True)
    return (M * N + 1) + (Hp * Wp + 1) * num_classes


def count_params_cnn_same_padding(H, W, M, N, num_classes):
    """Mistake: the conv output taken as H x W (same padding) instead of valid."""
    return (M * N + 1) + ((H // 2) * (W // 2) + 1) * num_classes


def count_params_fc_no_bias(H, W, num_classes):
    """Mistake: the fully connected layer without biases."""
    return H * W * num_classes


# ---- C4: self-attention with W_Q = W_K = W_V = 1 ----------------------------------------------


def softmax_rows(S):
    """Row-wise softmax, max-shifted for stability."""
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def self_attention_identity(x):
    """Z = softmax(x' x'^T / sqrt(1)) x' with x' = vec(x) as an (n, 1) column; returns (n, 1).

    With all projections 1 and d_k = 1, queries = keys = values = the pixels themselves.
    """
    xc = vec(np.asarray(x, dtype=np.float64)).reshape(-1, 1)
    return softmax_rows(xc @ xc.T / np.sqrt(1.0)) @ xc


def self_attention_identity_row_major(x):
    """Mistake: x' = x.ravel() (rows stacked) instead of vec(x) (columns stacked)."""
    xc = np.asarray(x, dtype=np.float64).reshape(-1, 1)
    return softmax_rows(xc @ xc.T) @ xc


def self_attention_identity_softmax_columns(x):
    """Mistake: the softmax normalises each column of the score matrix instead of each row."""
    xc = vec(np.asarray(x, dtype=np.float64)).reshape(-1, 1)
    return softmax_rows((xc @ xc.T).T).T @ xc


def self_attention_identity_unstable(x):
    """Mistake: the softmax as exp(S) / sum exp(S), without subtracting each row's maximum: NaN in every
    row with a score above about 709 (where exp overflows), right elsewhere."""
    xc = vec(np.asarray(x, dtype=np.float64)).reshape(-1, 1)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(xc @ xc.T)
        return (e / e.sum(axis=1, keepdims=True)) @ xc


# ---- C5: learning-rate sweep for a digits CNN -------------------------------------------------


def train_digits_cnn(lr, seed=0, epochs=15):
    """DigitsCNN (conv 3x3 -> ReLU -> pool -> linear) trained with Adam at this learning rate.

    Returns (model, val_acc); accuracy(model, digits().X_test, digits().y_test) gives the test
    accuracy of the chosen model.
    """
    d = digits()
    model = build_and_train(DigitsCNN, d.X_train, d.y_train, seed=seed, epochs=epochs, lr=lr)
    return model, accuracy(model, d.X_val, d.y_val)


def lr_sweep(lrs=(0.01, 0.0005, 0.00001), seed=0, epochs=15):
    """{lr: validation accuracy} for the assignment's three rates."""
    return {lr: train_digits_cnn(lr, seed, epochs)[1] for lr in lrs}


# ---- C6: toy translation with and without attention -------------------------------------------


class Seq2Seq(nn.Module):
    """GRU encoder-decoder; with attention=True the decoder adds a dot-product (Luong) context
    over all encoder states, otherwise it only sees the encoder's final hidden state."""

    def __init__(self, attention, emb=16, hidden=32):
        super().__init__()
        self.attention = attention
        self.src_emb = nn.Embedding(SEQ_VOCAB, emb)
        self.tgt_emb = nn.Embedding(SEQ_VOCAB + 1, emb)          # + the start token
        self.encoder = nn.GRU(emb, hidden, batch_first=True)
        self.decoder = nn.GRU(emb, hidden, batch_first=True)
        self.out = nn.Linear(2 * hidden if attention else hidden, SEQ_VOCAB)

    def decode(self, dec_in, enc_out, h):
        d, h = self.decoder(self.tgt_emb(dec_in), h)
        if self.attention:
            weights = torch.softmax(d @ enc_out.transpose(1, 2), dim=-1)
            d = torch.cat([d, weights @ enc_out], dim=-1)
        return self.out(d), h

    def forward(self, src, tgt):
        """Teacher forcing: the decoder reads <bos> + tgt[:-1]; returns logits (B, T, vocab)."""
        enc_out, h = self.encoder(self.src_emb(src))
        dec_in = torch.cat([torch.full_like(tgt[:, :1], SEQ_BOS), tgt[:, :-1]], dim=1)
        return self.decode(dec_in, enc_out, h)[0]

    def translate(self, src):
        """Greedy decoding, one token at a time, feeding back its own predictions."""
        with torch.no_grad():
            enc_out, h = self.encoder(self.src_emb(src))
            tok, outs = torch.full_like(src[:, :1], SEQ_BOS), []
            for _ in range(src.shape[1]):
                logits, h = self.decode(tok, enc_out, h)
                tok = logits.argmax(dim=-1)
                outs.append(tok)
            return torch.cat(outs, dim=1)


def seq2seq_array(name, seq_len=10):
    """The rubric's data for C6: "src"/"tgt" of the training set (3000 sentences, as train_seq2seq
    uses) or "test_src"/"test_tgt" of seq2seq_test_set."""
    if name.startswith("test_"):
        return dict(zip(("test_src", "test_tgt"), seq2seq_test_set(seq_len)))[name]
    return toy_seq2seq_array(name, 3000, seq_len, seed=1000)


def seq2seq_public(name, seq_len=10, n=300):
    """The student kit's stand-in for the test sentences: "src"/"tgt" of the first n training sentences."""
    return seq2seq_array(name, seq_len)[:n]


def seq2seq_test_set(seq_len=10, n=1000):
    """The fixed test sentences both models are scored on (seed disjoint from training seeds)."""
    return toy_seq2seq(n, seq_len, seed=999)


def train_seq2seq(attention, seed=0, seq_len=10, n_train=3000, epochs=4, lr=1e-2,
                  batch_size=64):
    """Train Seq2Seq on the toy translation task; returns the token error rate (fraction of
    wrongly translated characters, greedy decoding) on seq2seq_test_set(seq_len)."""
    src, tgt = map(torch.as_tensor, toy_seq2seq(n_train, seq_len, seed=1000 + seed))
    test_src, test_tgt = map(torch.as_tensor, seq2seq_test_set(seq_len))
    rng = np.random.default_rng(seed)
    with deterministic(seed):
        model = Seq2Seq(attention)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        for _ in range(epochs):
            order = torch.as_tensor(rng.permutation(n_train))
            for start in range(0, n_train, batch_size):
                i = order[start:start + batch_size]
                logits = model(src[i], tgt[i])
                loss = nn.functional.cross_entropy(logits.reshape(-1, SEQ_VOCAB), tgt[i].reshape(-1))
                opt.zero_grad()
                loss.backward()
                opt.step()
        model.eval()
        return float((model.translate(test_src) != test_tgt).double().mean())


# What a rubric may call (grader.references): the checks' references, their known mistakes, transforms and data.
RUBRIC_FUNCTIONS = {f.__name__: f for f in (
    conv_output_size,
    conv_output_size_no_floor,
    conv_output_size_single_padding,
    corr2d_probes,
    corr2d_probes_flipped,
    corr2d_probes_row_major,
    apply_matrix,
    count_params_cnn,
    count_params_cnn_ceil_pool,
    count_params_cnn_no_bias,
    count_params_cnn_no_conv_bias,
    count_params_cnn_no_linear_bias,
    count_params_cnn_no_pool,
    count_params_cnn_same_padding,
    count_params_fc,
    count_params_fc_no_bias,
    self_attention_identity,
    self_attention_identity_row_major,
    self_attention_identity_softmax_columns,
    self_attention_identity_unstable,
    seq2seq_array,
    seq2seq_public,
    digits_array,
    digits_public,
)}
