"""Configuration for the entry points (library code takes plain values)."""

from segml.config.load import flatten, load_config, parse_overrides
from segml.config.models import Config

__all__ = ["Config", "flatten", "load_config", "parse_overrides"]
