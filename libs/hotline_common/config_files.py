"""Reading the data files under config/ (YAML). Data, not code: changing them needs no release."""
from __future__ import annotations

import copy
import threading
from pathlib import Path

import yaml

# libyaml's parser when PyYAML was built with it: the same safe loading, faster
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# path -> (mtime_ns, size, parsed): the catalogue and the Open311 tables are read at every app and
# service start (and in hundreds of tests); a changed file (new mtime or size) is read again
_parsed: dict[Path, tuple[int, int, object]] = {}
_lock = threading.Lock()


def parse_yaml(text: str):
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader)


def read_yaml(config_dir: Path, name: str) -> dict:
    """The file's content, each caller its own copy (callers may change what they get)."""
    path = (Path(config_dir) / name).resolve()
    stat = path.stat()
    with _lock:
        cached = _parsed.get(path)
    if cached is None or cached[:2] != (stat.st_mtime_ns, stat.st_size):
        data = parse_yaml(path.read_text(encoding="utf-8")) or {}
        with _lock:
            _parsed[path] = (stat.st_mtime_ns, stat.st_size, data)
        return copy.deepcopy(data)
    return copy.deepcopy(cached[2])
