"""Reference for B: the cs231n-style two-layer net (affine - ReLU - affine - softmax).

Plain functions of a params dict {W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)} so the grader can feed
the very same arrays to a student's TwoLayerNet and to these functions.
"""
import numpy as np

from reference.data import digits_array, digits_public
from reference.models import MultiLayerPerceptron


def init_params(input_size, hidden_size, output_size, std=1e-4, seed=0):
    """Small random weights, zero biases (cs231n's init), from a private seeded generator."""
    rng = np.random.default_rng(seed)
    return {
        "W1": std * rng.standard_normal((input_size, hidden_size)),
        "b1": np.zeros(hidden_size),
        "W2": std * rng.standard_normal((hidden_size, output_size)),
        "b2": np.zeros(output_size),
    }


def scores(X, params):
    """Class scores (N, C) before the softmax."""
    hidden = np.maximum(0.0, X @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"]


def predict(X, params):
    """Predicted labels: the argmax of the scores."""
    return np.argmax(scores(X, params), axis=1)


def _reg_factor(reg, reg_convention):
    # loss term c * reg * sum(W^2) has gradient 2 * c * reg * W
    if reg_convention == "full":
        return reg
    if reg_convention == "half":
        return 0.5 * reg
    raise ValueError(f"reg_convention must be 'full' or 'half', not {reg_convention!r}")


def loss_and_grads(X, y, params, reg=0.0, reg_convention="full"):
    """Mean softmax cross-entropy + regularisation on W1, W2 (not biases), and its gradients.

    reg_convention "full" is the assignment's reg * sum(W^2) (grad + 2 reg W); "half" is the
    0.5 * reg * sum(W^2) of older cs231n years (grad + reg W), kept to recognise that variant.
    Returns (loss: float, grads: dict with the keys of params).
    """
    c = _reg_factor(reg, reg_convention)
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    N = X.shape[0]

    z1 = X @ W1 + b1
    a1 = np.maximum(0.0, z1)
    z2 = a1 @ W2 + b2
    shifted = z2 - z2.max(axis=1, keepdims=True)          # stable softmax
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    probs = np.exp(log_probs)
    loss = -log_probs[np.arange(N), y].mean() + c * (np.sum(W1 * W1) + np.sum(W2 * W2))

    dz2 = probs.copy()                                     # (softmax - Delta) / N
    dz2[np.arange(N), y] -= 1.0
    dz2 /= N
    grads = {"W2": a1.T @ dz2 + 2 * c * W2, "b2": dz2.sum(axis=0)}
    dz1 = (dz2 @ W2.T) * (z1 > 0)
    grads["W1"] = X.T @ dz1 + 2 * c * W1
    grads["b1"] = dz1.sum(axis=0)
    return float(loss), grads


def rel_error(x, y):
    """cs231n's relative error: max over elements of |x - y| / max(1e-8, |x| + |y|)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def numeric_gradient(f, x, h=1e-5):
    """Central-difference gradient of the scalar f(x) w.r.t. the array x.

    Like cs231n's eval_numerical_gradient, x is perturbed in place (so f may close over the
    array instead of using its argument) and each entry is restored afterwards.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
        it.iternext()
    return grad


def train(X, y, X_val, y_val, params, learning_rate=1e-3, learning_rate_decay=0.95,
          reg=5e-6, num_iters=100, batch_size=200, seed=0, reg_convention="full"):
    """Minibatch SGD as cs231n's TwoLayerNet.train: batches drawn with replacement, accuracies
    recorded and the learning rate decayed once per epoch (and at iteration 0).

    Updates params in place (as the class would) and returns
    {"loss_history", "train_acc_history", "val_acc_history"}. Batches come from
    np.random.default_rng(seed) instead of the global RNG, so runs are reproducible.
    """
    rng = np.random.default_rng(seed)
    num_train = X.shape[0]
    iterations_per_epoch = max(num_train // batch_size, 1)
    loss_history, train_acc_history, val_acc_history = [], [], []
    for it in range(num_iters):
        idx = rng.choice(num_train, batch_size, replace=True)
        loss, grads = loss_and_grads(X[idx], y[idx], params, reg, reg_convention)
        loss_history.append(loss)
        for name in params:
            params[name] -= learning_rate * grads[name]
        if it % iterations_per_epoch == 0:
            train_acc_history.append(float(np.mean(predict(X[idx], params) == y[idx])))
            val_acc_history.append(float(np.mean(predict(X_val, params) == y_val)))
            learning_rate *= learning_rate_decay
    return {"loss_history": loss_history, "train_acc_history": train_acc_history,
            "val_acc_history": val_acc_history}


def train_toy(seed=0):
    """The notebook's toy training run (lr 0.1, reg 5e-6, 100 iterations): final loss < 0.02."""
    from reference.data import toy_twolayer_problem
    X, y, params = toy_twolayer_problem()
    stats = train(X, y, X, y, params, learning_rate=1e-1, reg=5e-6, num_iters=100, seed=seed)
    return params, stats


def train_digits(seed=0, hidden_size=64, learning_rate=1.0, learning_rate_decay=0.99, reg=1e-3,
                 num_iters=1000, batch_size=200):
    """B3 on the bundled digits: the reference's own tuned run, used to calibrate the threshold.

    Returns (params, stats, val_acc, test_acc).
    """
    from reference.data import digits
    d = digits()
    params = init_params(64, hidden_size, 10, std=1e-1, seed=seed)
    stats = train(d.X_train, d.y_train, d.X_val, d.y_val, params, learning_rate=learning_rate,
                  learning_rate_decay=learning_rate_decay, reg=reg, num_iters=num_iters,
                  batch_size=batch_size, seed=seed)
    val_acc = float(np.mean(predict(d.X_val, params) == d.y_val))
    test_acc = float(np.mean(predict(d.X_test, params) == d.y_test))
    return params, stats, val_acc, test_acc


# ---- for the rubric: the toy problem by part, and the net as a function of its params ----------


def toy(part):
    """"X", "y" or "params" of the notebook's toy problem (data.toy_twolayer_problem)."""
    from reference.data import toy_twolayer_problem
    X, y, params = toy_twolayer_problem()
    return {"X": X, "y": y, "params": params}[part]


def random_params(input_size, hidden_size, output_size, seed, std=0.5):
    """Random weights and biases (biases too, so that a forgotten bias shows) for hidden cases."""
    rng = np.random.default_rng(int(seed))
    return {"W1": std * rng.standard_normal((input_size, hidden_size)),
            "b1": std * rng.standard_normal(hidden_size),
            "W2": std * rng.standard_normal((hidden_size, output_size)),
            "b2": std * rng.standard_normal(output_size)}


def with_random_biases(params, seed, std=0.5):
    """A copy of ``params`` with random biases b1, b2 (the toy net's are zero, and a zero bias hides
    every mistake made with a bias: regularising it, say)."""
    rng = np.random.default_rng(int(seed))
    out = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    out["b1"] = std * rng.standard_normal(out["b1"].shape)
    out["b2"] = std * rng.standard_normal(out["b2"].shape)
    return out


def with_large_scores(params, shift=1000.0):
    """A copy of ``params`` whose class scores are all about ``shift`` larger (b2 + shift).

    The softmax does not change when every score of a row moves by the same amount, so the right loss
    and gradients are those of ``params``; but exp(score) overflows above about 709, so a softmax that
    does not subtract each row's maximum first gives NaN or infinity here.
    """
    out = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
    out["b2"] = out["b2"] + float(shift)
    return out


NET_VARIANTS = ("full", "half", "no_reg", "no_reg_grad", "no_relu_grad", "grads_not_averaged",
                "reg_biases", "half_reg_biases", "unstable_softmax", "relu_mask_from_grad")


def net_loss(params, X, y=None, reg=0.0, variant="full"):
    """TwoLayerNet.loss as a function of the params: the scores when y is None, else (loss, grads).

    ``variant`` names a convention or a known mistake, for recognising it in a hand-in:
    "full" reg * sum(W^2) (the sheet's); "half" 0.5 * reg * sum(W^2) (accepted); every other variant
    is one mistake of the catalogue in ``net_with_mistake``.
    """
    if variant not in NET_VARIANTS:
        raise ValueError(f"variant must be one of {NET_VARIANTS}, not {variant!r}")
    params = {k: np.asarray(v, dtype=np.float64) for k, v in params.items()}
    X = np.asarray(X, dtype=np.float64)
    if y is None:
        return scores(X, params)
    y = np.asarray(y).astype(int)
    if variant in ("full", "half"):
        return loss_and_grads(X, y, params, reg, reg_convention=variant)
    return net_with_mistake(X, y, params, reg, variant)


def net_with_mistake(X, y, params, reg, mistake):
    """The net's loss and gradients as a student writes them, with one known mistake made on the line
    where students make it (the mistake catalogue; the right version is ``loss_and_grads``):

    "no_reg"              the regularisation term left out of the loss and the gradients
    "no_reg_grad"         in the loss, but not in the weight gradients (the loss alone without it is
                          "no_reg" too: a loss check sees only the loss)
    "reg_biases"          b1 and b2 regularised like W1 and W2 (the "bias trick": biases folded into W),
                          in the loss and the bias gradients; "half_reg_biases" the same in the 0.5 convention
    "unstable_softmax"    exp of the raw scores, without subtracting each row's maximum: NaN or infinity
                          once a score passes about 709
    "no_relu_grad"        the backward pass skips the ReLU
    "relu_mask_from_grad" the ReLU mask taken from the upstream gradient (dhidden > 0) instead of the
                          hidden pre-activation
    "grads_not_averaged"  the data gradients summed over the batch instead of averaged
    Returns (loss, grads) like ``loss_and_grads``.
    """
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    N = X.shape[0]
    c = 0.5 * reg if mistake == "half_reg_biases" else reg
    regularised = ["W1", "W2", "b1", "b2"] if mistake in ("reg_biases", "half_reg_biases") else ["W1", "W2"]

    # forward
    z1 = X @ W1 + b1
    a1 = np.maximum(0.0, z1)
    z2 = a1 @ W2 + b2
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if mistake == "unstable_softmax":
            exp_scores = np.exp(z2)                                       # overflows for scores above ~709
        else:
            exp_scores = np.exp(z2 - z2.max(axis=1, keepdims=True))
        probs = exp_scores / exp_scores.sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(N), y]).mean()
    if mistake != "no_reg":
        loss += c * sum(np.sum(params[name] ** 2) for name in regularised)

    # backward
    dz2 = probs.copy()
    dz2[np.arange(N), y] -= 1.0
    if mistake != "grads_not_averaged":
        dz2 /= N
    grads = {"W2": a1.T @ dz2, "b2": dz2.sum(axis=0)}
    da1 = dz2 @ W2.T
    if mistake == "no_relu_grad":
        dz1 = da1                                                         # no mask at all
    elif mistake == "relu_mask_from_grad":
        dz1 = da1 * (da1 > 0)                                             # mask from the wrong tensor
    else:
        dz1 = da1 * (z1 > 0)
    grads["W1"] = X.T @ dz1
    grads["b1"] = dz1.sum(axis=0)
    if mistake not in ("no_reg", "no_reg_grad"):
        for name in regularised:
            grads[name] = grads[name] + 2 * c * params[name]
    return float(loss), grads


def net_predict(params, X):
    """TwoLayerNet.predict as a function of the params."""
    return predict(np.asarray(X, dtype=np.float64), {k: np.asarray(v, dtype=np.float64) for k, v in params.items()})


def mlp_structure(input_size, hidden_layers, num_classes):
    """What B4's MultiLayerPerceptron(input_size, hidden_layers, num_classes) holds: (number of
    parameters, layer widths [input, hidden..., classes]) from the reference model itself."""
    model = MultiLayerPerceptron(int(input_size), [int(h) for h in hidden_layers], int(num_classes))
    return state_dict_structure({k: v.detach().numpy() for k, v in model.state_dict().items()})


def state_dict_structure(state_dict):
    """The transform applied to a student's model.state_dict(): (number of parameters, layer widths).

    Widths come from the 2-D weight matrices in order (out x in, as nn.Linear stores them).
    """
    arrays = [np.asarray(v) for v in state_dict.values()]
    weights = [a for a in arrays if a.ndim == 2]
    if not weights:
        raise ValueError("the state_dict holds no weight matrices")
    widths = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    return int(sum(a.size for a in arrays)), np.asarray(widths)


# What a rubric may call (grader.references): the checks' references, their known mistakes, transforms and data.
RUBRIC_FUNCTIONS = {f.__name__: f for f in (
    net_loss,
    net_predict,
    random_params,
    with_random_biases,
    with_large_scores,
    toy,
    mlp_structure,
    state_dict_structure,
    digits_array,
    digits_public,
)}
