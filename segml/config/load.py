"""Read a YAML config, apply ``key=value`` overrides, validate into :class:`Config`."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from segml.config.models import Config
from segml.errors import SegmlConfigError

__all__ = ["flatten", "load_config", "parse_overrides"]


def load_config(
    path: str | os.PathLike | None = None,
    overrides: Iterable[str] = (),
) -> Config:
    """Load ``path`` (or the defaults), apply dotted overrides, and validate.

    Parameters
    ----------
    path : path, optional
        A YAML file; ``None`` means every default.
    overrides : iterable of str
        ``"section.key=value"`` strings; the value is read as YAML, so
        ``tiers.labels=[A,B,C,D]`` and ``training.horizon_days=90`` work.

    Raises
    ------
    SegmlConfigError
        One line per problem, naming the dotted key.

    Examples
    --------
    >>> cfg = load_config(overrides=["tiers.rule=value", "training.horizon_days=90"])
    >>> cfg.tiers.rule, cfg.training.horizon_days
    ('value', 90)
    """
    raw: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise SegmlConfigError(f"config file not found: {file}")
        try:
            loaded = yaml.safe_load(file.read_text()) or {}
        except (yaml.YAMLError, ValueError) as exc:  # ValueError: 2023-02-30
            message = " ".join(str(exc).split())
            raise SegmlConfigError(f"{file}: not valid YAML: {message}") from exc
        if not isinstance(loaded, dict):
            raise SegmlConfigError(f"{file}: the top level must be a mapping")
        raw = loaded
    for key, value in parse_overrides(overrides):
        _set_dotted(raw, key, value)
    try:
        return Config.model_validate(_dates_as_text(raw))
    except ValidationError as exc:
        raise SegmlConfigError(_describe(exc, path)) from None


def parse_overrides(overrides: Iterable[str]) -> list[tuple[str, Any]]:
    """Split ``key=value`` strings; values are parsed as YAML scalars or lists.

    A value YAML cannot read as a scalar (``%d/%m/%Y``: ``%`` starts a YAML
    directive) is taken as the text it is, so a format needs no quotes; a
    malformed list or mapping (``[1, 2``) is an error.

    Examples
    --------
    >>> parse_overrides(["data.ts_format=%d/%m/%Y", "features.windows=[30, 90]"])
    [('data.ts_format', '%d/%m/%Y'), ('features.windows', [30, 90])]
    """
    parsed = []
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SegmlConfigError(
                f"override {item!r} is not of the form section.key=value"
            )
        try:
            parsed.append((key.strip(), yaml.safe_load(value)))
        except yaml.YAMLError as exc:
            if value.strip()[:1] not in ("[", "{", '"', "'"):
                parsed.append((key.strip(), value))
                continue
            message = " ".join(str(exc).split())
            raise SegmlConfigError(f"override {item!r}: bad value: {message}") from exc
        except ValueError as exc:  # 2023-02-30
            message = " ".join(str(exc).split())
            raise SegmlConfigError(f"override {item!r}: bad value: {message}") from exc
    return parsed


def flatten(config: Config | Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten a config into ``{"section.key": value}`` (for MLflow params)."""
    data = config.model_dump() if isinstance(config, Config) else config
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, prefix=name + "."))
        else:
            flat[name] = value
    return flat


#: Mappings whose keys are the user's own (an override replaces nothing else)
_FREE_MAPPINGS = {("tiers", "composite_criteria")}


def _set_dotted(raw: dict[str, Any], key: str, value: Any) -> None:
    """Set ``key`` (dotted) in ``raw``. A mapping the file does not give (e.g.
    ``model.lgbm``) starts from its defaults, so ``model.lgbm.num_leaves=7``
    changes that one setting and keeps the other defaults."""
    node = raw
    parts = key.split(".")
    for depth, part in enumerate(parts[:-1]):
        if part not in node:
            node[part] = _default_mapping(tuple(parts[: depth + 1]))
        child = node[part]
        if not isinstance(child, dict):
            raise SegmlConfigError(f"override {key!r}: '{part}' is not a section")
        node = child
    node[parts[-1]] = value


def _default_mapping(path: tuple[str, ...]) -> dict[str, Any]:
    """The default value of a dict-typed config field at ``path`` (else {})."""
    if path in _FREE_MAPPINGS:
        return {}
    node: Any = Config().model_dump()
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    # a section (pydantic model) fills its own defaults; a free dict needs them
    section = Config()
    for part in path:
        section = getattr(section, part, None)
        if section is None:
            return {}
    return dict(node) if isinstance(section, dict) else {}


def _dates_as_text(value: Any) -> Any:
    """YAML reads an unquoted ``2023-01-01`` as a date; every date key of the
    config is ISO text, so dates go back to the text the user wrote."""
    if isinstance(value, dict):
        return {k: _dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _describe(exc: ValidationError, path: object) -> str:
    where = f"{path}: " if path else ""
    lines = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        if error["type"] == "extra_forbidden":
            lines.append(f"{where}unknown key '{key}'")
        elif error["type"] == "value_error":
            # our validators' messages name their key already
            message = error["msg"].removeprefix("Value error, ")
            named = message.startswith(key) or message.startswith(key.split(".")[0])
            lines.append(f"{where}{message}" if named else f"{where}{key}: {message}")
        else:
            got = error.get("input")
            shown = "" if isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"{where}{key}: {error['msg']}{shown}")
    return "invalid config: " + "; ".join(lines)
