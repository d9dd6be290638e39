"""LightGBM boosters compiled to machine code (lleaves), with a cache on disk.

:func:`booster_predict` is ``booster.predict`` for the scoring path. For a batch
of at least :data:`COMPILE_MIN_ROWS` rows it compiles the booster with
`lleaves <https://github.com/siboehm/lleaves>`_ (LLVM; measured 8-11x faster than
LightGBM on the default model's 600 trees) and keeps the binary in a cache
folder keyed by the model's sha256, so the next process loads it in
milliseconds instead of compiling again (8-13 s for 600 trees on the shared
2-core machine).

The compiled forest must give LightGBM's answers: every time a binary is
compiled or loaded it is checked against ``booster.predict`` on the first rows
of the batch (within :data:`TOLERANCE`). lleaves and llvmlite are the optional
``fast`` extra (``pip install 'segml[fast]'``): when they are missing, compiling
or loading fails, or the check fails, the booster is used as before and a
warning is logged once. ``SEGML_COMPILE=0`` turns compilation off; ``SEGML_CACHE_DIR``
moves the cache (default: ``$XDG_CACHE_HOME/segml/compiled`` or
``~/.cache/segml/compiled``).

The compiled forest agrees with LightGBM to ~1e-15, not bit for bit (measured:
every row of a 3-class model differed, by at most 1.3e-15), and whether it
answers depends on the cache that earlier processes left. What a fit computes
from its own predictions (the tier cut-offs) therefore runs inside
:func:`lightgbm_only`: otherwise the same training run gave other cut-offs once
a ``segml score`` of a large batch had compiled the same booster.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import logging
import os
import tempfile
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import lightgbm as lgb
import numpy as np

__all__ = [
    "COMPILE_MIN_ROWS",
    "LOAD_MIN_ROWS",
    "TOLERANCE",
    "booster_predict",
    "cache_dir",
    "compile_booster",
    "lightgbm_only",
]

logger = logging.getLogger(__name__)

#: Rows from which a batch compiles a booster that has no cached binary.
#: Compiling 600 trees took 8-13 s, the time LightGBM takes for ~300,000-450,000
#: rows (~35,000 rows/s on one thread): a batch this large pays for the compile
#: within a few batches, and the binary is then cached for every later process.
COMPILE_MIN_ROWS = 100_000
#: Rows from which a batch loads a cached binary (a load takes milliseconds).
LOAD_MIN_ROWS = 1_000
#: Largest absolute difference to LightGBM accepted by the check.
TOLERANCE = 1e-9
_CHECK_ROWS = 256

_lock = threading.Lock()
# set by lightgbm_only(): this context never uses a compiled forest
_LIGHTGBM_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "segml_lightgbm_only", default=False
)
# booster -> {raw_score: _Slot}
_compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cache_dir() -> Path:
    """Folder of the compiled binaries (``SEGML_CACHE_DIR`` or the user cache).

    Examples
    --------
    >>> cache_dir().name
    'compiled'
    """
    given = os.environ.get("SEGML_CACHE_DIR")
    if given:
        return Path(given) / "compiled"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "segml" / "compiled"


def booster_predict(
    booster: lgb.Booster,
    matrix: np.ndarray,
    *,
    raw_score: bool = False,
    num_threads: int = 1,
    batch_rows: int | None = None,
) -> np.ndarray:
    """``booster.predict(matrix, raw_score=..., num_threads=...)``, maybe compiled.

    The compiled forest is used when it is already in memory, loaded from the
    cache for batches of :data:`LOAD_MIN_ROWS` rows or more, and compiled for
    batches of :data:`COMPILE_MIN_ROWS` rows or more; otherwise LightGBM
    answers. Either way the answer equals LightGBM's within :data:`TOLERANCE`.
    ``batch_rows`` is the size of the whole batch when ``matrix`` is one block
    of it (default: ``len(matrix)``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> booster = lgb.train({"verbose": -1}, lgb.Dataset(X, X[:, 0]), 5)
    >>> np.allclose(booster_predict(booster, X[:3]), booster.predict(X[:3]))
    True
    """
    n_rows = len(matrix) if batch_rows is None else batch_rows
    forest = _forest(booster, raw_score, n_rows, matrix)
    if forest is None:
        return booster.predict(matrix, raw_score=raw_score, num_threads=num_threads)
    # the route's threads (one): on the shared 2 cores, two threads gave
    # x0.93-x1.00 in three benchmark runs under load (400,000 rows) and
    # x1.1-x2.1 in a quick test, so there is no measured win to keep
    return forest.predict(_as_float64(matrix), n_jobs=max(num_threads, 1))


@contextlib.contextmanager
def lightgbm_only() -> Iterator[None]:
    """Inside this block :func:`booster_predict` is ``booster.predict``.

    For results that must not depend on the process's history: the compiled
    forest differs from LightGBM in the last bits and is used only when a
    cache file exists or the batch is large, so a fit that reads its own
    predictions would give other numbers after an unrelated process compiled
    the same booster.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> booster = lgb.train({"verbose": -1}, lgb.Dataset(X, X[:, 0]), 5)
    >>> with lightgbm_only():
    ...     same = booster_predict(booster, X, batch_rows=10**6)
    >>> bool((same == booster.predict(X)).all())
    True
    """
    token = _LIGHTGBM_ONLY.set(True)
    try:
        yield
    finally:
        _LIGHTGBM_ONLY.reset(token)


def compile_booster(booster: lgb.Booster, *, raw_score: bool = False) -> bool:
    """Compile (or load from the cache) ahead of the first large batch.

    Returns whether the compiled forest is ready; it is checked against
    LightGBM on the next batch's first rows before first use.
    """
    if os.environ.get("SEGML_COMPILE", "1") == "0":
        return False
    slot = _slot(booster, raw_score)
    with _lock:
        if slot.forest is None and not slot.failed:
            _load(slot, booster, raw_score, allow_compile=True)
    return slot.forest is not None


@dataclass
class _Slot:
    """What is known about compiling one booster for one kind of output."""

    forest: object | None = None  # the lleaves model, once built
    path: Path | None = None  # its cache file
    checked: bool = False  # compared with LightGBM on real rows
    failed: bool = False  # lleaves missing, failing or disagreeing: never again


def _slot(booster: lgb.Booster, raw_score: bool) -> _Slot:
    with _lock:
        return _compiled.setdefault(booster, {}).setdefault(raw_score, _Slot())


def _forest(booster: lgb.Booster, raw_score: bool, n_rows: int, matrix: np.ndarray):
    """The checked compiled forest to use for this batch, or None (LightGBM)."""
    if os.environ.get("SEGML_COMPILE", "1") == "0" or _LIGHTGBM_ONLY.get():
        return None
    slots = _compiled.get(booster)
    slot = slots.get(raw_score) if slots else None
    if slot is None or slot.forest is None:
        if n_rows < LOAD_MIN_ROWS:
            return None
        slot = slot or _slot(booster, raw_score)
        with _lock:
            if slot.forest is None and not slot.failed:
                _load(slot, booster, raw_score, n_rows >= COMPILE_MIN_ROWS)
        if slot.forest is None:
            return None
    if not slot.checked:
        with _lock:
            if not slot.checked and slot.forest is not None:
                if not _agrees(slot.forest, booster, matrix, raw_score):
                    slot.forest, slot.failed = None, True
                slot.checked = True
    return slot.forest


def _load(slot: _Slot, booster: lgb.Booster, raw_score: bool, allow_compile: bool):
    """Fill ``slot`` from the cache, else by compiling (if allowed).

    The cache path is worked out once per booster (hashing the model text
    takes ~70 ms), so a batch too small to compile only checks the file.
    """
    if not _fast_installed():
        _warn_once(
            "lleaves is not installed; scoring with LightGBM "
            "(pip install 'segml[fast]' for compiled boosters)"
        )
        slot.failed = True
        return
    try:
        if slot.path is None:
            slot.path = cache_dir() / f"{_key(booster.model_to_string(), raw_score)}.o"
    except Exception as exc:  # llvmlite missing or failing
        _warn_once(f"compiling the booster failed ({exc!r}); scoring with LightGBM")
        slot.failed = True
        return
    if not allow_compile and not slot.path.is_file():
        return
    slot.forest = _build(booster, raw_score, allow_compile, slot.path)
    slot.failed = slot.forest is None


def _fast_installed() -> bool:
    """Whether the ``fast`` extra (lleaves and llvmlite) can be imported."""
    try:
        import lleaves  # noqa: F401
        import llvmlite.binding  # noqa: F401
    except ImportError:
        return False
    return True


def _build(
    booster: lgb.Booster,
    raw_score: bool,
    allow_compile: bool,
    path: Path | None = None,
):
    """The lleaves model from the cache, else compiled (if allowed), else None."""
    try:
        import lleaves
    except ImportError:
        _warn_once(
            "lleaves is not installed; scoring with LightGBM "
            "(pip install 'segml[fast]' for compiled boosters)"
        )
        return None
    try:
        text = booster.model_to_string()
        if path is None:
            path = cache_dir() / f"{_key(text, raw_score)}.o"
        if not path.is_file() and not allow_compile:
            return None
        with tempfile.TemporaryDirectory(prefix="segml-lleaves-") as tmp:
            model_file = Path(tmp) / "model.txt"
            model_file.write_text(text)
            forest = lleaves.Model(model_file=str(model_file))
            if path.is_file():
                forest.compile(cache=str(path), raw_score=raw_score)
            else:
                _compile_into_cache(forest, path, raw_score)
        return forest
    except Exception as exc:  # any failure: LightGBM answers instead
        _warn_once(f"compiling the booster failed ({exc!r}); scoring with LightGBM")
        return None


def _compile_into_cache(forest, path: Path, raw_score: bool) -> None:
    """Compile, writing the binary under a temporary name then renaming it.

    The rename is atomic, so a concurrent process never loads half a file.
    Without a writable cache folder the binary is compiled in memory only.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=path.parent, suffix=".partial")
        os.close(fd)
        os.unlink(partial)  # lleaves writes the cache only to a path not yet there
    except OSError:
        forest.compile(raw_score=raw_score)
        return
    try:
        forest.compile(cache=partial, raw_score=raw_score)
        if os.path.isfile(partial):
            os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def _agrees(forest, booster: lgb.Booster, matrix: np.ndarray, raw_score: bool) -> bool:
    """Whether the compiled forest matches LightGBM on the batch's first rows."""
    probe = _as_float64(matrix[:_CHECK_ROWS])
    try:
        ours = forest.predict(probe, n_jobs=1)
    except Exception as exc:
        _warn_once(f"the compiled booster failed ({exc!r}); scoring with LightGBM")
        return False
    theirs = booster.predict(probe, raw_score=raw_score, num_threads=1)
    if ours.shape == theirs.shape and np.allclose(ours, theirs, rtol=0, atol=TOLERANCE):
        return True
    _warn_once("the compiled booster disagrees with LightGBM; scoring with LightGBM")
    return False


def _key(text: str, raw_score: bool) -> str:
    """Cache key: the model, the output kind, the compiler versions and the CPU."""
    import llvmlite.binding as llvm

    llvm.initialize()
    llvm.initialize_native_target()
    try:
        features = llvm.get_host_cpu_features().flatten()
    except RuntimeError:
        features = ""
    parts = [
        text,
        f"raw={raw_score}",
        metadata.version("lleaves"),
        metadata.version("llvmlite"),
        llvm.get_process_triple(),
        llvm.get_host_cpu_name(),
        features,
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _as_float64(matrix: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(matrix, dtype=np.float64)


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        logger.warning(message)
