"""segml's public signatures, as users' type checkers see them.

- mypy (scope and flags: ``[tool.mypy]`` in pyproject.toml) passes on
  ``tests/typing/public_api_usage.py`` and reports a wrong call;
- every public function and method annotates its parameters and return;
- ``py.typed`` is in the wheel, so type checkers read those annotations.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import segml

ROOT = Path(__file__).resolve().parents[1]


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "pyproject.toml", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_public_api_type_checks_under_strict_mypy():
    done = _mypy()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found in 1 source file" in done.stdout


def test_mypy_reports_a_wrong_return_type_and_a_wrong_argument(tmp_path):
    user = tmp_path / "user_code.py"
    user.write_text(
        "from typing import assert_type\n"
        "import pandas as pd\n"
        "import segml\n"
        "from segml.model import TierPredictor\n"
        "def f(X: pd.DataFrame, y: pd.Series) -> None:\n"
        "    assert_type(TierPredictor().fit(X, y).score(X, y), str)\n"
        "    segml.train(quiet='yes')\n"
    )
    done = _mypy(str(user))
    assert done.returncode == 1, done.stdout + done.stderr
    # (file, line, message); mypy may print the path of an identical cached file
    errors = [
        (Path(m[1]).name, int(m[2]), m[3])
        for m in re.finditer(r"^(.+):(\d+): error: (.+)$", done.stdout, re.M)
    ]
    assert len(errors) == 2, done.stdout
    assert errors[0][:2] == ("user_code.py", 6)
    assert errors[0][2].startswith('Expression is of type "float", not "str"')
    assert errors[0][2].endswith("[assert-type]")
    assert errors[1][:2] == ("user_code.py", 7)
    assert '"quiet"' in errors[1][2] and errors[1][2].endswith("[arg-type]")


def _public_packages() -> Iterator[object]:
    """segml and each subpackage that declares ``__all__`` (segml.spark only
    where pyspark imports)."""
    yield segml
    for info in pkgutil.iter_modules(segml.__path__, "segml."):
        if not info.ispkg:
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            if info.name == "segml.spark":
                continue
            raise
        if hasattr(module, "__all__"):
            yield module


def _public_callables() -> Iterator[tuple[str, Callable[..., object]]]:
    seen: set[int] = set()
    for package in _public_packages():
        for name in package.__all__:
            obj = getattr(package, name)
            if id(obj) in seen or not getattr(obj, "__module__", "").startswith(
                "segml"
            ):
                continue
            seen.add(id(obj))
            qualname = f"{obj.__module__}.{getattr(obj, '__qualname__', name)}"
            if inspect.isfunction(obj):
                yield qualname, obj
            elif inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if attr.startswith("_") and attr != "__init__":
                        continue
                    if isinstance(value, staticmethod | classmethod):
                        value = value.__func__
                    elif isinstance(value, property):
                        value = value.fget
                    if inspect.isfunction(value):
                        yield f"{qualname}.{attr}", value


def missing_annotations(func: Callable[..., object]) -> list[str]:
    """The parameters (and ``return``) of ``func`` without an annotation."""
    signature = inspect.signature(func)
    missing = [
        name
        for name, parameter in signature.parameters.items()
        if parameter.annotation is inspect.Parameter.empty
        and name not in ("self", "cls")
    ]
    if (
        signature.return_annotation is inspect.Signature.empty
        and func.__name__ != "__init__"
    ):
        missing.append("return")
    return missing


def test_missing_annotations_names_parameters_and_return():
    def half(x, y: int, *args, **kwargs: str):
        return x

    def whole(x: int) -> int:
        return x

    assert missing_annotations(half) == ["x", "args", "return"]
    assert missing_annotations(whole) == []


def test_every_public_function_and_method_is_fully_annotated():
    checked = dict(_public_callables())
    # the walk reaches the estimators' methods and the packages' functions
    assert "segml.model.predictor.TierPredictor.predict_frame" in checked
    assert "segml.segments.segmenter.Segmenter.fit" in checked
    assert "segml.tiers.rules.assign_tiers" in checked
    assert "segml.scoring.predict" in checked
    gaps = {name: missing_annotations(func) for name, func in checked.items()}
    gaps = {name: gap for name, gap in gaps.items() if gap}
    assert gaps == {}, "public callables missing annotations: " + "; ".join(
        f"{name}: {', '.join(gap)}" for name, gap in sorted(gaps.items())
    )


def test_py_typed_ships_in_the_wheel(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "segml",
        source / "segml",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    assert wheel.name.startswith(f"segml-{segml.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "segml/py.typed" in names
    assert "segml/__init__.py" in names
