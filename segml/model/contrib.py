"""Exact TreeSHAP contributions toward one class of a multiclass booster.

LightGBM's ``pred_contrib`` computes the contributions toward *every* class;
a row's reasons only need those toward its predicted tier. A multiclass
booster holds one tree per class and iteration, and a class's contributions
are the sum of the TreeSHAP values of that class's trees only. So
:func:`class_contributions` builds, once per booster, one single-output
booster per class holding exactly that class's trees (same trees, same order),
and asks each for the rows predicted in its class: the same numbers as the
slice of the full ``pred_contrib``, for a third of the work with three tiers.
"""

from __future__ import annotations

import re
import threading
import weakref

import lightgbm as lgb
import numpy as np

__all__ = ["class_booster", "class_contributions"]

_lock = threading.Lock()
_per_class: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_TREE = re.compile(r"^Tree=\d+\n", re.MULTILINE)


def class_contributions(
    booster: lgb.Booster,
    matrix: np.ndarray,
    classes: np.ndarray,
    *,
    num_threads: int = 1,
) -> np.ndarray:
    """SHAP contributions of each feature toward class ``classes[i]`` for row i.

    Shape ``(n_rows, n_features)`` (no bias column). For a single-output booster
    (binary or regression) these are its contributions, whatever ``classes``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3))
    >>> y = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])
    >>> params = {"objective": "multiclass", "num_class": 3, "verbose": -1}
    >>> booster = lgb.train(params, lgb.Dataset(X, y), 5)
    >>> full = booster.predict(X[:4], pred_contrib=True).reshape(4, 3, 4)
    >>> picked = np.array([0, 2, 1, 2])
    >>> ours = class_contributions(booster, X[:4], picked)
    >>> np.allclose(ours, full[np.arange(4), picked, :3], rtol=0, atol=1e-12)
    True
    """
    n_features = booster.num_feature()
    n_classes = booster.num_model_per_iteration()
    if n_classes == 1:
        full = booster.predict(matrix, pred_contrib=True, num_threads=num_threads)
        return full[:, :n_features]
    out = np.zeros((len(matrix), n_features))
    for k in np.unique(classes):
        rows = np.flatnonzero(classes == k)
        single = class_booster(booster, int(k))
        contrib = single.predict(
            matrix[rows], pred_contrib=True, num_threads=num_threads
        )
        out[rows] = contrib[:, :n_features]
    return out


def class_booster(booster: lgb.Booster, k: int) -> lgb.Booster:
    """A single-output booster holding the trees of class ``k`` (cached)."""
    with _lock:
        cached = _per_class.setdefault(booster, {})
        if k not in cached:
            cached[k] = lgb.Booster(model_str=_class_model(booster, k))
        return cached[k]


def _class_model(booster: lgb.Booster, k: int) -> str:
    """The model text of ``booster`` restricted to the trees of class ``k``."""
    text = booster.model_to_string()
    n_classes = booster.num_model_per_iteration()
    trees_start = _TREE.search(text).start()
    trees_end = text.index("end of trees")
    head, body, tail = text[:trees_start], text[trees_start:trees_end], text[trees_end:]
    starts = [m.start() for m in _TREE.finditer(body)]
    blocks = [body[a:b] for a, b in zip(starts, [*starts[1:], len(body)], strict=True)]
    kept = [
        _TREE.sub(f"Tree={j}\n", block, count=1)
        for j, block in enumerate(blocks[k::n_classes])
    ]
    lines = []
    for line in head.splitlines():
        if line.startswith("num_class="):
            line = "num_class=1"
        elif line.startswith("num_tree_per_iteration="):
            line = "num_tree_per_iteration=1"
        elif line.startswith("objective="):
            line = "objective=regression"  # raw sums: no link function
        elif line.startswith("tree_sizes="):
            line = "tree_sizes=" + " ".join(str(len(b)) for b in kept)
        lines.append(line)
    return "\n".join(lines) + "\n\n" + "".join(kept) + tail
