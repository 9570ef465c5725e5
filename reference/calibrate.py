"""Print the references' own training figures, and whether each rubric's training requirements hold for them.

    python -m reference.calibrate                  # every assignment
    python -m reference.calibrate cnn_attention    # one (conv1d, twolayer, cnn_attention, backprop_conv2d)
    python -m reference.calibrate --seeds 3        # the spread over seeds 0, 1, 2

The thresholds in rubrics/*.yaml (``require:`` of training checks) are set below these figures with
a margin for a student's different (but reasonable) model, optimiser and initialisation. Each
figure is named like the rubric's metric, so the requirement is evaluated on the reference's run:
a requirement the reference itself does not meet is a broken rubric.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def conv1d(seed: int) -> dict:
    from reference.models import equivariance_experiment

    res = equivariance_experiment(seed=seed)
    return {"mlp_val": res["mlp"][0], "mlp_shifted": res["mlp"][1], "cnn_val": res["cnn"][0], "cnn_shifted": res["cnn"][1]}


def twolayer(seed: int) -> dict:
    from reference.data import toy_twolayer_problem
    from reference.twolayer import scores, train_digits, train_toy

    params, stats = train_toy(seed)
    X, y, _ = toy_twolayer_problem()
    z = scores(X, params)
    z = z - z.max(axis=1, keepdims=True)
    data_loss = float(-(z - np.log(np.exp(z).sum(axis=1, keepdims=True)))[np.arange(len(y)), y].mean())
    _, _, val_acc, test_acc = train_digits(seed=seed)
    # final_loss: the loss the grader computes from the trained net's scores (the history's last: reported as such)
    return {"final_loss": data_loss, "history's last loss (not checked)": stats["loss_history"][-1],
            "val_acc (not checked)": val_acc, "test_acc": test_acc}


def cnn_attention(seed: int) -> dict:
    from reference.cnn_attention import lr_sweep, train_digits_cnn, train_seq2seq
    from reference.data import digits
    from reference.models import accuracy

    sweep = lr_sweep(seed=seed)
    best = max(sweep, key=sweep.get)
    model, val_acc = train_digits_cnn(best, seed=seed)
    d = digits()
    err_attn, err_plain = train_seq2seq(True, seed=seed), train_seq2seq(False, seed=seed)
    return {"lr_results": sweep, "best_lr": best, "val_acc": val_acc, "test_acc": accuracy(model, d.X_test, d.y_test),
            "err_attn": err_attn, "err_plain": err_plain,
            "claimed": {"with_attention": err_attn, "without_attention": err_plain}}


def backprop_conv2d(seed: int) -> dict:
    from reference.backprop_conv2d import train_digits_cnn_small, train_digits_mlp

    _, cnn_val, cnn_test = train_digits_cnn_small(seed=seed)
    _, mlp_val, _ = train_digits_mlp(seed=seed)
    return {"cnn_val": cnn_val, "cnn_test (not checked)": cnn_test, "mlp_val (not checked)": mlp_val}


RUNS = {"conv1d": conv1d, "twolayer": twolayer, "cnn_attention": cnn_attention, "backprop_conv2d": backprop_conv2d}


def requirements(assignment: str) -> list[tuple[str, str]]:
    """(check id, require) of the rubric's training checks."""
    from grader.rubric import TrainingCheck, load_rubric

    rubric = load_rubric(ROOT / "rubrics" / f"{assignment}.yaml")
    return [(c.id, c.require) for c in rubric.checks() if isinstance(c, TrainingCheck)]


def _show(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    from grader.checks.requirements import holds, margin, names, parse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help=f"any of {', '.join(RUNS)} (default: all)")
    parser.add_argument("--seeds", type=int, default=1, help="run seeds 0..N-1 (default 1)")
    args = parser.parse_args(argv)
    unknown = [a for a in args.assignments if a not in RUNS]
    if unknown:
        parser.error(f"unknown assignment {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    broken = 0
    for assignment in args.assignments or list(RUNS):
        print(f"== {assignment}")
        runs = []
        margins: dict[str, list] = {}
        for seed in range(args.seeds):
            started = time.monotonic()
            figures = RUNS[assignment](seed)
            runs.append(figures)
            print(f"  seed {seed} ({time.monotonic() - started:.1f} s): " + ", ".join(f"{k} {_show(v)}" for k, v in figures.items()))
            for check_id, require in requirements(assignment):
                tree = parse(require)
                if names(tree) <= set(figures):
                    ok = holds(tree, figures)
                    broken += not ok
                    spare = margin(tree, figures)
                    shown = f" (margin {spare:+.4g})" if spare is not None else ""
                    print(f"    {'holds' if ok else 'FAILS'}  {check_id}: {require}{shown}")
                    margins.setdefault(check_id, []).append(spare)
        if args.seeds > 1:
            numeric = [k for k, v in runs[0].items() if isinstance(v, float)]
            print("  spread: " + ", ".join(f"{k} {np.mean([r[k] for r in runs]):.3f} +- {np.std([r[k] for r in runs]):.3f}" for k in numeric))
        for check_id, spares in margins.items():
            known = [m for m in spares if m is not None]
            if known:
                print(f"  smallest margin over {len(spares)} seed(s): {check_id} {min(known):+.4g}")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
