"""reference/twolayer.py against the cs231n notebook's numbers (assignment B)."""
import numpy as np
import pytest
import torch

from reference import twolayer as tl
from reference.data import digits, toy_twolayer_problem

# The notebook's expected values (cs231n two_layer_net.ipynb).
CORRECT_LOSS = 1.30378789133
CORRECT_SCORES = np.asarray([
    [-0.81233741, -1.27654624, -0.70335995],
    [-0.17129677, -1.18803311, -0.47310444],
    [-0.51590475, -1.01354314, -0.8504215],
    [-0.15419291, -0.48629638, -0.52901952],
    [-0.00618733, -0.12435261, -0.15226949]])


def test_toy_scores_match_notebook():
    X, _, params = toy_twolayer_problem()
    assert np.sum(np.abs(tl.scores(X, params) - CORRECT_SCORES)) < 1e-7


def test_toy_loss_reg_005_full_convention():
    X, y, params = toy_twolayer_problem()
    loss, _ = tl.loss_and_grads(X, y, params, reg=0.05)
    assert abs(loss - CORRECT_LOSS) < 1e-10


def test_half_convention_with_reg_01_gives_the_same_loss():
    # Older notebook years asked for reg=0.1 with 0.5 * reg * sum(W^2): same number.
    X, y, params = toy_twolayer_problem()
    loss, _ = tl.loss_and_grads(X, y, params, reg=0.1, reg_convention="half")
    assert abs(loss - CORRECT_LOSS) < 1e-10
    assert abs(tl.loss_and_grads(X, y, params, reg=0.05, reg_convention="half")[0]
               - CORRECT_LOSS) > 1e-3


@pytest.mark.parametrize("convention", ["full", "half"])
def test_gradients_match_numeric(convention):
    X, y, params = toy_twolayer_problem()
    _, grads = tl.loss_and_grads(X, y, params, reg=0.05, reg_convention=convention)
    for name in ("W1", "b1", "W2", "b2"):
        f = lambda _: tl.loss_and_grads(X, y, params, reg=0.05, reg_convention=convention)[0]
        num = tl.numeric_gradient(f, params[name])
        assert tl.rel_error(num, grads[name]) < 1e-8, name


def test_gradients_match_autograd():
    X, y, params = toy_twolayer_problem()
    reg = 0.05
    loss, grads = tl.loss_and_grads(X, y, params, reg)
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    z = torch.relu(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    tloss = (torch.nn.functional.cross_entropy(z, torch.tensor(y))
             + reg * ((t["W1"] ** 2).sum() + (t["W2"] ** 2).sum()))
    tloss.backward()
    assert abs(tloss.item() - loss) < 1e-12
    for k in params:
        assert np.allclose(t[k].grad.numpy(), grads[k], rtol=1e-10, atol=1e-12)


def test_rel_error_is_cs231ns():
    assert tl.rel_error([1.0, 2.0], [1.1, 2.0]) == pytest.approx(0.1 / 2.1)
    assert tl.rel_error([0.0], [0.0]) == 0.0
    assert tl.rel_error([0.0], [1e-9]) == pytest.approx(1e-9 / 1e-8)   # the 1e-8 floor


def test_numeric_gradient_restores_input():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    before = x.copy()
    g = tl.numeric_gradient(lambda v: float(np.sum(v ** 3)), x)
    assert np.array_equal(x, before)
    assert np.allclose(g, 3 * x ** 2, rtol=1e-8)


def test_toy_training_final_loss_below_threshold():
    for seed in range(3):
        _, stats = tl.train_toy(seed)
        assert stats["loss_history"][-1] < 0.02
        assert len(stats["loss_history"]) == 100


def test_predict_and_init_params():
    p = tl.init_params(6, 5, 4, std=1e-1, seed=3)
    assert p["W1"].shape == (6, 5) and p["b2"].shape == (4,)
    assert np.array_equal(p["W1"], tl.init_params(6, 5, 4, std=1e-1, seed=3)["W1"])
    X = np.random.default_rng(0).random((7, 6))
    assert np.array_equal(tl.predict(X, p), tl.scores(X, p).argmax(axis=1))


def test_digits_training_reaches_calibrated_accuracy():
    params, stats, val_acc, test_acc = tl.train_digits()
    assert val_acc >= 0.95 and test_acc >= 0.95
    assert stats["val_acc_history"][-1] >= 0.9
    # deterministic: same seed, same weights
    assert np.array_equal(tl.train_digits()[0]["W1"], params["W1"])


def test_torch_mlp_per_depth():
    d = digits()
    for hidden in ([], [64], [64, 64]):
        model = tl.MultiLayerPerceptron(64, hidden, 10)
        n_linear = sum(isinstance(m, torch.nn.Linear) for m in model.modules())
        assert n_linear == len(hidden) + 1
        from reference.models import accuracy, build_and_train
        model = build_and_train(lambda: tl.MultiLayerPerceptron(64, hidden, 10),
                                d.X_train, d.y_train, epochs=20, lr=3e-3)
        assert accuracy(model, d.X_val, d.y_val) >= 0.93
