"""Reading the data files under config/ (YAML). Data, not code: changing them needs no release."""
from __future__ import annotations

from pathlib import Path

import yaml

# libyaml's loader when PyYAML was built with it: the same safe loading, several times faster (the
# catalogue and the Open311 tables are read at every app and service start, and in many tests)
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str):
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader)


def read_yaml(config_dir: Path, name: str) -> dict:
    return parse_yaml((Path(config_dir) / name).read_text(encoding="utf-8")) or {}
