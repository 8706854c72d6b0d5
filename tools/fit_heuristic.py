"""Refit the ``heuristic`` evaluator's logistic model from the dev split, reproducibly.

    .venv/bin/python tools/fit_heuristic.py [--dev tests/data/groundedness/dev.jsonl]
                                            [--folds 5] [--write]

Each dev answer becomes the feature vector of
:func:`tracerail.guardrails.evaluators.heuristic.answer_features` (the claims' signals,
aggregated). A logistic regression with an L2 penalty on standardised features is fitted by
Newton's method (numpy, deterministic). The penalty is chosen by cross-validation *within dev*,
grouped by ``scenario`` (no scenario is in both the training and the held-out part of a fold),
repeated over five fixed fold draws: the one with the least mean out-of-fold log-loss. The
script prints the out-of-fold log-loss, balanced accuracy (threshold 0.5) and AUROC for each
penalty, next to the hand-set rules of heuristic 2.0 (``1 - min(support)``).
With ``--write`` the model fitted on all of dev with the chosen penalty is written to
``guardrails/evaluators/heuristic_model.py``. The test split is never read.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "data" / "groundedness" / "dev.jsonl"
OUT = ROOT / "guardrails" / "evaluators" / "heuristic_model.py"
PENALTIES = (0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
SEEDS = (17, 18, 19, 20, 21)  # fold draws; the CV figures are their means


def features(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str], list[str]]:
    """Feature matrix, labels (1 = hallucinated), rule scores, scenarios and kinds of a set."""
    from tracerail.guardrails.evaluators.harness import load_items
    from tracerail.guardrails.evaluators.heuristic import answer_features, check_claims

    rows, labels, rules, scenarios, kinds = [], [], [], [], []
    for item in load_items(path):
        checks = check_claims(item.answer, item.sources, item.question)
        rows.append(answer_features(checks))
        rules.append(1.0 - min(c.support for c in checks))
        labels.append(1.0 if item.hallucinated else 0.0)
        scenarios.append(str(item.extra.get("scenario", item.id)))
        kinds.append(item.kind)
    return np.array(rows), np.array(labels), np.array(rules), scenarios, kinds


def fit(x: np.ndarray, y: np.ndarray, penalty: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(means, scales, weights with the bias last) of an L2-penalised logistic regression."""
    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales < 1e-9] = 1.0
    z = np.hstack([(x - means) / scales, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    ridge = np.full(z.shape[1], penalty)
    ridge[-1] = 0.0  # the bias is not penalised
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        gradient = z.T @ (p - y) + ridge * w
        hessian = (z * (p * (1 - p))[:, None]).T @ z + np.diag(ridge) + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return means, scales, w


def predict(model: tuple[np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    means, scales, w = model
    z = (x - means) / scales @ w[:-1] + w[-1]
    return 1.0 / (1.0 + np.exp(-z))


def balanced_accuracy(y: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    flagged = scores >= threshold
    return float((flagged[y == 1].mean() + (~flagged[y == 0]).mean()) / 2)


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def auroc(y: np.ndarray, scores: np.ndarray) -> float:
    pos, neg = scores[y == 1], scores[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(wins / (len(pos) * len(neg)))


def folds(scenarios: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Fold number of each item: scenarios shuffled with ``seed``, dealt round-robin."""
    names = sorted(set(scenarios))
    random.Random(seed).shuffle(names)
    fold_of = {name: i % k for i, name in enumerate(names)}
    return np.array([fold_of[s] for s in scenarios])


def cross_validate(x: np.ndarray, y: np.ndarray, fold: np.ndarray, penalty: float) -> np.ndarray:
    """Out-of-fold probabilities."""
    out = np.zeros(len(y))
    for f in sorted(set(fold.tolist())):
        held = fold == f
        out[held] = predict(fit(x[~held], y[~held], penalty), x[held])
    return out


def write_model(model: tuple[np.ndarray, np.ndarray, np.ndarray], penalty: float) -> None:
    from tracerail.guardrails.evaluators.heuristic import ANSWER_FEATURES

    means, scales, w = model

    def floats(values: np.ndarray) -> str:
        return "".join(f"    {float(v)!r},\n" for v in values)

    names = "".join(f'    "{name}",\n' for name in ANSWER_FEATURES)
    OUT.write_text(
        '"""The ``heuristic`` evaluator\'s logistic model. Generated by tools/fit_heuristic.py\n'
        f"from the dev split (L2 penalty {penalty}); do not edit by hand.\n\n"
        "hallucination probability = 1 / (1 + exp(-(BIAS + sum(WEIGHTS[i] * (x[i] - MEANS[i])\n"
        '/ SCALES[i])))) over the answer features named in FEATURES."""\n\n'
        "from typing import Final\n\n"
        f"FEATURES: Final[tuple[str, ...]] = (\n{names})\n"
        f"MEANS: Final[tuple[float, ...]] = (\n{floats(means)})\n"
        f"SCALES: Final[tuple[float, ...]] = (\n{floats(scales)})\n"
        f"WEIGHTS: Final[tuple[float, ...]] = (\n{floats(w[:-1])})\n"
        f"BIAS: Final = {float(w[-1])!r}\n",
        encoding="utf-8",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", type=Path, default=DEV)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="write heuristic_model.py")
    args = parser.parse_args(argv)
    if "test" in args.dev.name:
        parser.error("fit on dev only; the test split is for the final figure")
    x, y, rules, scenarios, kinds = features(args.dev)
    print(f"{len(y)} items, {len(set(scenarios))} scenarios, {x.shape[1]} features")
    print(f"rules of 2.0 (1 - min support): BA {balanced_accuracy(y, rules):.3f}  "
          f"AUROC {auroc(y, rules):.3f}")  # fmt: skip
    best: tuple[float, float] | None = None
    for penalty in PENALTIES:
        runs = [cross_validate(x, y, folds(scenarios, args.folds, seed), penalty) for seed in SEEDS]
        loss = float(np.mean([log_loss(y, oof) for oof in runs]))
        ba = np.mean([balanced_accuracy(y, oof) for oof in runs])
        area = np.mean([auroc(y, oof) for oof in runs])
        print(f"penalty {penalty:>6}: {args.folds}-fold scenario CV x{len(SEEDS)}  "
              f"log-loss {loss:.4f}  BA {ba:.3f}  AUROC {area:.3f}")  # fmt: skip
        if best is None or loss < best[1] - 1e-9:
            best = (penalty, loss)
    assert best is not None
    penalty = best[0]
    oof = cross_validate(x, y, folds(scenarios, args.folds, SEEDS[0]), penalty)
    print(
        f"chosen penalty {penalty} (least log-loss); out-of-fold accuracy by kind, seed {SEEDS[0]}:"
    )
    for kind in sorted(set(kinds)):
        mask = np.array([k == kind for k in kinds])
        correct = (oof[mask] >= 0.5) == (y[mask] == 1)
        print(f"  {kind:<22} {int(mask.sum()):>4}  {correct.mean():.3f}")
    model = fit(x, y, penalty)
    if args.write:
        write_model(model, penalty)
        print(f"written {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
