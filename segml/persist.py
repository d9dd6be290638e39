"""Export a fitted pipeline with joblib and a model card; verify it on load.

Integrity covers every file: the model card lists the sha256 of each file of
the export folder, and a logged MLflow model carries a manifest
(:data:`MANIFEST_NAME`) with the sha256 of each of its files. Loading checks
them and refuses a changed, added or missing file with a
:class:`ModelIntegrityError` naming it. With ``SEGML_SIGNING_KEY`` set, the
card and the manifest also carry an HMAC-SHA256 made with that key, and
loading requires it: see ``docs/security.md`` for what each check proves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import joblib

from segml._version import __version__

__all__ = [
    "MANIFEST_NAME",
    "SIGNING_KEY_ENV",
    "ModelIntegrityError",
    "check_files",
    "export_model",
    "file_manifest",
    "load_model_file",
    "sha256_file",
    "verify_manifest",
    "write_manifest",
]

CARD_NAME = "model_card.json"
ARTIFACT_NAME = "pipeline.joblib"
#: The manifest of a logged MLflow model, at the model's root.
MANIFEST_NAME = "segml_manifest.json"
#: Environment variable holding the key of the optional HMAC signature.
SIGNING_KEY_ENV = "SEGML_SIGNING_KEY"
#: Folders never covered: Python writes them when a model's code is imported.
SKIPPED_DIRS = frozenset({"__pycache__"})
_SHOWN = 5  # files named at most in one error


class ModelIntegrityError(RuntimeError):
    """A model's files differ from those its run wrote, or its signature is bad."""


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_manifest(
    directory: str | os.PathLike, *, exclude: Iterable[str] = ()
) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``directory``.

    Paths use ``/``; ``exclude`` lists relative paths left out, and
    ``__pycache__`` folders are skipped.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "a.txt").write_text("x")
    ...     file_manifest(d)
    {'a.txt': '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'}
    """
    root = Path(directory)
    skipped = set(exclude)
    files: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if SKIPPED_DIRS.intersection(relative.parts[:-1]) or not path.is_file():
            continue
        name = relative.as_posix()
        if name not in skipped:
            files[name] = sha256_file(path)
    return files


def check_files(
    directory: str | os.PathLike,
    recorded: Mapping[str, str],
    *,
    exclude: Iterable[str] = (),
) -> None:
    """Raise :class:`ModelIntegrityError` unless ``directory`` holds exactly
    the files of ``recorded``, each with its recorded sha256.

    The message names the changed, added and missing files (up to five each).
    """
    actual = file_manifest(directory, exclude=exclude)
    changed = sorted(n for n in recorded if n in actual and actual[n] != recorded[n])
    added = sorted(set(actual) - set(recorded))
    missing = sorted(set(recorded) - set(actual))
    if not (changed or added or missing):
        return
    problems = []
    if changed:
        first = changed[0]
        problems.append(
            f"changed: {_names(changed)} ({first} has sha256 {actual[first]}, "
            f"the record says {recorded[first]})"
        )
    if added:
        problems.append(f"added: {_names(added)}")
    if missing:
        problems.append(f"missing: {_names(missing)}")
    raise ModelIntegrityError(
        f"model files in {directory} differ from those its run wrote; "
        + "; ".join(problems)
        + ". Load models only from stores you trust (docs/security.md)."
    )


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    more = len(names) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _signing_key() -> bytes | None:
    key = os.environ.get(SIGNING_KEY_ENV)
    return key.encode() if key else None


def _mac(payload: Mapping[str, Any], key: bytes) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def _signed(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` with a ``signature`` entry when a signing key is set."""
    key = _signing_key()
    if key is None:
        return payload
    return {**payload, "signature": _mac(payload, key)}


def _check_signature(document: Mapping[str, Any], where: Path) -> None:
    """With a signing key set, ``document`` must carry a signature made with it."""
    key = _signing_key()
    if key is None:
        return
    signature = document.get("signature")
    if not signature:
        raise ModelIntegrityError(
            f"{where} is not signed, but {SIGNING_KEY_ENV} is set: only signed "
            "models are loaded"
        )
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    if not hmac.compare_digest(str(signature), _mac(unsigned, key)):
        raise ModelIntegrityError(
            f"{where} has a signature that {SIGNING_KEY_ENV} does not verify: it "
            "was changed, or signed with another key"
        )


def write_manifest(
    directory: str | os.PathLike, *, exclude: Iterable[str] = ()
) -> Path:
    """Write :data:`MANIFEST_NAME` into ``directory``: the sha256 of every file
    (but ``exclude``), signed when ``SEGML_SIGNING_KEY`` is set."""
    root = Path(directory)
    skipped = {MANIFEST_NAME, *exclude}
    document = _signed(
        {
            "segml_version": __version__,
            "algorithm": "sha256",
            "excluded": sorted(skipped),
            "files": file_manifest(root, exclude=skipped),
        }
    )
    path = root / MANIFEST_NAME
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def verify_manifest(
    directory: str | os.PathLike, *, exclude: Iterable[str] = ()
) -> None:
    """Check ``directory`` against its :data:`MANIFEST_NAME` (see
    :func:`check_files`); a folder without a manifest is refused."""
    root = Path(directory)
    path = root / MANIFEST_NAME
    if not path.is_file():
        raise ModelIntegrityError(
            f"no {MANIFEST_NAME} in {root}: the model's files cannot be checked "
            "(logged by an older segml, or removed); log the model again"
        )
    try:
        document = json.loads(path.read_text())
        recorded = dict(document["files"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ModelIntegrityError(f"{path} is not a segml manifest ({exc})") from exc
    _check_signature(document, path)
    skipped = {MANIFEST_NAME, *exclude, *document.get("excluded", ())}
    check_files(root, recorded, exclude=skipped)


def export_model(
    pipeline: object,
    directory: str | os.PathLike,
    *,
    metrics: Mapping[str, float] | None = None,
    data_fingerprint: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``pipeline.joblib`` and ``model_card.json`` into ``directory``.

    The card records the metrics, the data fingerprint, library versions and
    the sha256 of every file of the folder (``files``), which
    :func:`load_model_file` checks. ``directory`` must hold no other files.

    Returns
    -------
    Path
        The directory written.
    """
    import lightgbm
    import pandas
    import sklearn

    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    others = sorted(
        set(file_manifest(target)) - {ARTIFACT_NAME, CARD_NAME, MANIFEST_NAME}
    )
    if others:
        raise FileExistsError(
            f"{target} already holds other files ({_names(others)}); export a "
            "model into an empty folder"
        )
    artifact = target / ARTIFACT_NAME
    joblib.dump(pipeline, artifact, compress=3)
    card = {
        "segml_version": __version__,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "artifact": ARTIFACT_NAME,
        "sha256": sha256_file(artifact),
        "files": file_manifest(target, exclude={CARD_NAME}),
        "data_fingerprint": data_fingerprint,
        "metrics": dict(metrics or {}),
        "versions": {
            "python": platform.python_version(),
            "pandas": pandas.__version__,
            "scikit-learn": sklearn.__version__,
            "lightgbm": lightgbm.__version__,
        },
        **dict(extra or {}),
    }
    # the signature covers the card as JSON reads it back
    card = _signed(json.loads(json.dumps(card, default=str)))
    (target / CARD_NAME).write_text(json.dumps(card, indent=2, default=str) + "\n")
    return target


def load_model_file(path: str | os.PathLike) -> object:
    """Load a pipeline exported by :func:`export_model`, verifying every file.

    ``path`` is the export directory or the joblib file inside it. The folder
    must hold exactly the files its model card lists, each with its recorded
    sha256 (a changed, added or missing file is a :class:`ModelIntegrityError`
    naming it); with ``SEGML_SIGNING_KEY`` set, the card must be signed with
    it. A joblib file without a model card beside it is refused.
    """
    target = Path(path)
    directory = target if target.is_dir() else target.parent
    artifact = directory / ARTIFACT_NAME if target.is_dir() else target
    card_path = directory / CARD_NAME
    if not card_path.is_file():
        if not artifact.is_file():
            raise FileNotFoundError(f"no exported pipeline at {artifact}")
        raise ModelIntegrityError(f"no {CARD_NAME} beside {artifact}")
    try:
        card = json.loads(card_path.read_text())
    except ValueError as exc:
        raise ModelIntegrityError(f"{card_path} is not JSON ({exc})") from exc
    _check_signature(card, card_path)
    recorded = card.get("files")
    if not isinstance(recorded, dict):
        raise ModelIntegrityError(
            f"{card_path} lists no files (written before segml checked every "
            "file, or damaged): export the model again"
        )
    check_files(directory, recorded, exclude={CARD_NAME})
    if not artifact.is_file():  # a path to a file the card does not list
        raise FileNotFoundError(f"no exported pipeline at {artifact}")
    return joblib.load(artifact)
