"""Drift and stability: population stability index, tier changes, near thresholds.

Population stability index (PSI) of one feature between a *reference*
(the training snapshot) and a *current* frame::

    PSI = sum_i (c_i - r_i) * ln(c_i / r_i)

over bins ``i``, where ``r_i`` and ``c_i`` are the shares of reference and
current customers in bin ``i``. The bins are fixed by the reference alone:

* **numeric** features: the ``bins`` quantiles of the reference's non-missing
  values (``numpy.quantile``, linear interpolation) at ``1/bins, ...,
  (bins-1)/bins`` are the inner edges, repeated edges merged (a feature that
  is 0 for 60 % of customers gets one bin for the zeros, not six); bins are
  closed on the right, ``(-inf, e_1], (e_1, e_2], ..., (e_k, inf)``;
* **categorical** features (strings, categories, booleans): one bin per
  reference category, plus one ``other`` bin for categories the reference
  never saw;
* **missing values** (NaN) are a bin of their own, in both kinds;
* an **empty bin** (share 0 on either side) counts with the share ``eps``
  (default 1e-4) instead, so the logarithm stays finite; shares are not
  renormalised afterwards.

Common reading: PSI < 0.1 no real shift, 0.1-0.25 a moderate shift worth a
look, > 0.25 a major shift (the usual alarm).

A :class:`BinnedReference` holds the bins and the reference shares of one
feature; :func:`reference_profile` makes them for a whole frame, serialisable
as JSON, so that a training run can store the reference distribution with
the model and the monitor need not recompute the training snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_EPS",
    "BinnedReference",
    "TierChange",
    "bin_shares",
    "near_threshold",
    "psi",
    "psi_from_shares",
    "psi_table",
    "reference_bins",
    "reference_profile",
    "tier_change",
]

DEFAULT_BINS = 10
DEFAULT_EPS = 1e-4
#: Bin label of categories the reference never saw.
OTHER = "other"
MISSING = "missing"


@dataclass(frozen=True)
class BinnedReference:
    """Bins of one feature and the reference's share in each.

    Attributes
    ----------
    feature : str
    kind : {"numeric", "categorical"}
    edges : tuple of float
        Numeric: the inner, right-closed bin edges (empty: one bin).
    categories : tuple of str
        Categorical: the reference's categories, sorted (then ``other``).
    shares : tuple of float
        Reference share per bin: the value bins, then the missing-value bin.
    n : int
        Reference rows.
    """

    feature: str
    kind: Literal["numeric", "categorical"]
    edges: tuple[float, ...]
    categories: tuple[str, ...]
    shares: tuple[float, ...]
    n: int

    @property
    def labels(self) -> list[str]:
        """A readable name per bin, e.g. ``(-inf, 0]``, ``(0, 12.5]``, ``missing``."""
        if self.kind == "categorical":
            return [*self.categories, OTHER, MISSING]
        bounds = [-np.inf, *self.edges, np.inf]
        return [
            f"({bounds[i]:g}, {bounds[i + 1]:g}" + ("]" if i < len(self.edges) else ")")
            for i in range(len(bounds) - 1)
        ] + [MISSING]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (``from_dict`` reads them back)."""
        return {
            **asdict(self),
            "edges": list(self.edges),
            "categories": list(self.categories),
            "shares": list(self.shares),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BinnedReference:
        """Read what :meth:`to_dict` wrote."""
        return cls(
            feature=str(data["feature"]),
            kind=data["kind"],
            edges=tuple(float(e) for e in data["edges"]),
            categories=tuple(str(c) for c in data["categories"]),
            shares=tuple(float(s) for s in data["shares"]),
            n=int(data["n"]),
        )


def _is_numeric(x: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x)


def _codes(ref: BinnedReference, x: pd.Series) -> np.ndarray:
    """Bin index of every value of ``x`` (the last index: missing)."""
    missing = x.isna().to_numpy()
    n_bins = len(ref.shares)
    if ref.kind == "numeric":
        values = pd.to_numeric(x, errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        missing = np.isnan(values)
        codes = np.searchsorted(np.asarray(ref.edges), values, side="left")
    else:
        lookup = {c: i for i, c in enumerate(ref.categories)}
        other = len(ref.categories)
        codes = np.array([lookup.get(str(v), other) for v in x.to_numpy()], "int64")
    codes = np.asarray(codes, dtype="int64")
    codes[missing] = n_bins - 1
    return codes


def reference_bins(
    reference: pd.Series, *, bins: int = DEFAULT_BINS, name: str | None = None
) -> BinnedReference:
    """The bins of one feature, fixed by the reference (see the module notes).

    Examples
    --------
    >>> ref = reference_bins(pd.Series([1.0, 2.0, 3.0, 4.0, np.nan]), bins=2)
    >>> ref.edges, ref.shares
    ((2.5,), (0.4, 0.4, 0.2))
    >>> ref.labels
    ['(-inf, 2.5]', '(2.5, inf)', 'missing']
    """
    if int(bins) < 2:
        raise ValueError(f"bins must be at least 2, got {bins!r}")
    feature = str(name if name is not None else reference.name)
    if len(reference) == 0:
        raise ValueError(f"feature {feature!r}: the reference is empty")
    if _is_numeric(reference):
        values = pd.to_numeric(reference).to_numpy(dtype="float64", na_value=np.nan)
        present = values[~np.isnan(values)]
        probs = np.arange(1, int(bins)) / int(bins)
        edges = np.unique(np.quantile(present, probs)) if len(present) else []
        edges = tuple(float(e) for e in edges if np.isfinite(e))
        draft = BinnedReference(
            feature, "numeric", edges, (), (0.0,) * (len(edges) + 2), 0
        )
    else:
        cats = sorted({str(v) for v in reference.dropna().to_numpy()})
        draft = BinnedReference(
            feature, "categorical", (), tuple(cats), (0.0,) * (len(cats) + 2), 0
        )
    codes = _codes(draft, reference)
    counts = np.bincount(codes, minlength=len(draft.shares))
    shares = tuple(float(s) for s in counts / len(reference))
    return BinnedReference(
        feature, draft.kind, draft.edges, draft.categories, shares, len(reference)
    )


def bin_shares(ref: BinnedReference, current: pd.Series) -> np.ndarray:
    """Share of ``current``'s values in each of ``ref``'s bins.

    Examples
    --------
    >>> ref = reference_bins(pd.Series([1.0, 2.0, 3.0, 4.0]), bins=2)
    >>> bin_shares(ref, pd.Series([1.0, 1.0, 1.0, 4.0])).tolist()
    [0.75, 0.25, 0.0]
    """
    if len(current) == 0:
        raise ValueError(f"feature {ref.feature!r}: the current frame is empty")
    codes = _codes(ref, current)
    return np.bincount(codes, minlength=len(ref.shares)) / len(current)


def psi_from_shares(
    reference: Sequence[float], current: Sequence[float], *, eps: float = DEFAULT_EPS
) -> float:
    """PSI of two share vectors over the same bins (zero shares count as ``eps``).

    Examples
    --------
    >>> round(psi_from_shares([0.5, 0.5], [0.75, 0.25]), 6)
    0.274653
    """
    r = np.asarray(reference, dtype="float64")
    c = np.asarray(current, dtype="float64")
    if r.shape != c.shape:
        raise ValueError(f"share vectors differ in length: {r.size} and {c.size}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    r = np.where(r > 0, r, eps)
    c = np.where(c > 0, c, eps)
    return float(np.sum((c - r) * np.log(c / r)))


def psi(
    reference: pd.Series | BinnedReference,
    current: pd.Series,
    *,
    bins: int = DEFAULT_BINS,
    eps: float = DEFAULT_EPS,
) -> float:
    """Population stability index of one feature (see the module notes).

    Parameters
    ----------
    reference : Series or BinnedReference
        The reference values (e.g. the training snapshot), or their stored bins.
    current : Series
        The values now.
    bins : int
        Quantile bins of a numeric reference (ignored for a BinnedReference).
    eps : float
        Share used for an empty bin.

    Examples
    --------
    Reference 1, 2, 3, 4 splits at its median 2.5; three of the four current
    values fall below it: ``0.25 ln 1.5 + 0.25 ln 2 = 0.274653``.

    >>> round(psi(pd.Series([1.0, 2.0, 3.0, 4.0]), pd.Series([1.0, 1.0, 1.0, 4.0]),
    ...           bins=2), 6)
    0.274653
    """
    ref = (
        reference
        if isinstance(reference, BinnedReference)
        else reference_bins(reference, bins=bins)
    )
    return psi_from_shares(ref.shares, bin_shares(ref, current), eps=eps)


def reference_profile(
    frame: pd.DataFrame,
    columns: Sequence[str] | None = None,
    *,
    bins: int = DEFAULT_BINS,
) -> dict[str, BinnedReference]:
    """The bins of every column (default: all) of a reference frame.

    ``{name: ref.to_dict() for name, ref in profile.items()}`` is what a
    training run stores to monitor drift without its training data.
    """
    cols = list(frame.columns) if columns is None else list(columns)
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"column(s) {missing} not in the reference frame")
    return {c: reference_bins(frame[c], bins=bins, name=c) for c in cols}


def psi_table(
    reference: pd.DataFrame | Mapping[str, BinnedReference],
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    bins: int = DEFAULT_BINS,
    eps: float = DEFAULT_EPS,
) -> pd.DataFrame:
    """PSI of every feature, largest first.

    Parameters
    ----------
    reference : DataFrame or mapping name -> BinnedReference
        The reference frame, or its :func:`reference_profile`.
    current : DataFrame
        The frame now; it must hold every column compared.
    columns : sequence of str, optional
        Default: every column of the reference that ``current`` also has.

    Returns
    -------
    DataFrame
        ``feature``, ``psi``, ``bins`` (number of bins, missing included),
        ``reference_missing``, ``current_missing`` (shares of NaN),
        ``reference_rows``, ``current_rows``.

    Examples
    --------
    >>> ref = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "a", "b", "b"]})
    >>> now = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "a", "a", "b"]})
    >>> psi_table(ref, now, bins=2)[["feature", "psi"]].round(6)
      feature       psi
    0       c  0.274653
    1       x  0.000000
    """
    profile = (
        dict(reference)
        if isinstance(reference, Mapping)
        else reference_profile(
            reference,
            [c for c in reference.columns if c in current.columns]
            if columns is None
            else columns,
            bins=bins,
        )
    )
    names = (
        [c for c in profile if c in current.columns]
        if columns is None
        else list(columns)
    )
    absent = [c for c in names if c not in current.columns or c not in profile]
    if absent:
        raise ValueError(f"column(s) {absent} missing from the reference or current")
    rows = []
    for name in names:
        ref = profile[name]
        cur = bin_shares(ref, current[name])
        rows.append(
            {
                "feature": name,
                "psi": psi_from_shares(ref.shares, cur, eps=eps),
                "bins": len(ref.shares),
                "reference_missing": ref.shares[-1],
                "current_missing": float(cur[-1]),
                "reference_rows": ref.n,
                "current_rows": len(current),
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "feature",
            "psi",
            "bins",
            "reference_missing",
            "current_missing",
            "reference_rows",
            "current_rows",
        ],
    )
    return table.sort_values(["psi", "feature"], ascending=[False, True]).reset_index(
        drop=True
    )


@dataclass(frozen=True)
class TierChange:
    """Result of :func:`tier_change`.

    Attributes
    ----------
    customers : int
        Customers tiered in both series.
    changed, up, down : int
        Of them, those whose tier differs; moved to a better; to a worse tier.
    share : float
        ``changed / customers`` (NaN when no customer is in both).
    """

    customers: int
    changed: int
    up: int
    down: int
    share: float


def tier_change(
    before: pd.Series, after: pd.Series, *, tiers: Sequence[str] | None = None
) -> TierChange:
    """How many customers tiered at both dates changed tier.

    Customers in only one of the series (new, or gone) are not counted.
    ``tiers`` (best first) tells up from down; default: the categories of
    ``before`` when categorical, else the sorted labels.

    Examples
    --------
    >>> before = pd.Series(["A", "B", "C", "C"], index=list("abcd"))
    >>> after = pd.Series(["B", "B", "A", "C", "A"], index=list("abcde"))
    >>> tier_change(before, after)
    TierChange(customers=4, changed=2, up=1, down=1, share=0.5)
    """
    for label, s in (("before", before), ("after", after)):
        if not isinstance(s, pd.Series):
            raise ValueError(
                f"{label} must be a Series of tiers indexed by customer_id"
            )
        if not s.index.is_unique:
            dup = s.index[s.index.duplicated()].unique()[:5].tolist()
            raise ValueError(f"{label} must have one row per customer; repeated: {dup}")
    b, a = before.dropna().astype("str"), after.dropna().astype("str")
    common = b.index.intersection(a.index)
    if tiers is not None:
        labels = list(tiers)
    elif isinstance(before.dtype, pd.CategoricalDtype):
        labels = [str(t) for t in before.cat.categories]
    else:
        labels = sorted(set(b) | set(a))
    rank = {t: i for i, t in enumerate(labels)}
    unknown = sorted((set(b[common]) | set(a[common])) - set(rank))
    if unknown:
        raise ValueError(f"tiers {unknown} are not among the tier labels {labels}")
    rb = b[common].map(rank).to_numpy(dtype="int64")
    ra = a[common].map(rank).to_numpy(dtype="int64")
    n = len(common)
    changed = int((rb != ra).sum())
    return TierChange(
        customers=n,
        changed=changed,
        up=int((ra < rb).sum()),
        down=int((ra > rb).sum()),
        share=changed / n if n else float("nan"),
    )


def near_threshold(
    values: pd.Series,
    thresholds: pd.Series | Mapping[str, float],
    *,
    within: float = 0.05,
) -> pd.DataFrame:
    """Customers within ``within`` (a fraction) of a tier threshold.

    A customer is *near* when ``|value - t| <= within * t`` for a threshold
    ``t`` (thresholds that are not finite and positive are ignored): these
    are the customers a small change flips between two tiers.

    Parameters
    ----------
    values : Series
        The measure the tiers were cut on (value or composite score), by
        customer; NaN counts as 0.
    thresholds : Series or mapping tier -> threshold
        E.g. :func:`~segml.tiers.learn_thresholds`: the lowest value of each
        tier but the last.
    within : float
        Relative distance, e.g. 0.05 for 5 %.

    Returns
    -------
    DataFrame
        Indexed like ``values``: ``near`` (bool), ``threshold`` (the tier
        whose threshold is nearest, relatively; the better tier on a tie)
        and ``gap`` (``(value - t) / t`` for that threshold; NaN without a
        usable threshold).

    Examples
    --------
    >>> v = pd.Series([104.0, 96.0, 90.0, 51.0], index=list("abcd"))
    >>> near_threshold(v, {"A": 100.0, "B": 50.0}, within=0.05)
       near threshold   gap
    a  True         A  0.04
    b  True         A -0.04
    c False         A -0.10
    d  True         B  0.02
    """
    if not 0 <= within < 1:
        raise ValueError(f"within must lie in [0, 1), got {within!r}")
    thr = pd.Series(thresholds, dtype="float64")
    usable = thr[np.isfinite(thr.to_numpy()) & (thr.to_numpy() > 0)]
    v = pd.to_numeric(values).astype("float64").fillna(0.0)
    if usable.empty:
        return pd.DataFrame(
            {"near": False, "threshold": None, "gap": np.nan}, index=v.index
        )
    t = usable.to_numpy()
    gaps = (v.to_numpy()[:, None] - t[None, :]) / t[None, :]
    nearest = np.abs(gaps).argmin(axis=1)
    gap = gaps[np.arange(len(v)), nearest]
    return pd.DataFrame(
        {
            "near": np.abs(gap) <= within + 1e-12,
            "threshold": usable.index.to_numpy()[nearest].astype("str"),
            "gap": gap,
        },
        index=v.index,
    )
