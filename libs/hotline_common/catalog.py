"""Reference data from config/catalog.yaml: ticket categories (a tree of dotted codes), districts,
channels. Shared by intake (validation) and routing (rules)."""
from __future__ import annotations

from dataclasses import dataclass

from .config_files import read_yaml


@dataclass(frozen=True)
class Catalog:
    categories: dict
    districts: dict
    channels: dict


def load_catalog(config_dir) -> Catalog:
    data = read_yaml(config_dir, "catalog.yaml")
    return Catalog(categories=data["categories"], districts=data["districts"], channels=data["channels"])
