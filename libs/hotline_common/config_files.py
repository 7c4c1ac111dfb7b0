"""Reading the data files under config/ (YAML). Data, not code: changing them needs no release."""
from __future__ import annotations

from pathlib import Path

import yaml


def read_yaml(config_dir: Path, name: str) -> dict:
    path = Path(config_dir) / name
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}
