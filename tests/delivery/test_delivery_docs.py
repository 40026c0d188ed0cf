"""Delivery docs kept honest: every delivery key is in config/default.yaml with its default
and named in docs/delivery.md; the numbers the docs quote are the code's."""

from __future__ import annotations

from pathlib import Path

import yaml

from reportgen.config import DeliverySettings
from reportgen.delivery.run import lock_stale_after

ROOT = Path(__file__).resolve().parents[2]


def test_every_delivery_key_is_in_the_default_yaml_with_its_default():
    written = yaml.safe_load((ROOT / "config/default.yaml").read_text())["delivery"]

    assert written == DeliverySettings().model_dump(mode="json")


def test_every_delivery_key_is_named_in_the_delivery_docs():
    docs = (ROOT / "docs/delivery.md").read_text()
    defaults = DeliverySettings()
    keys = [*type(defaults).model_fields, *type(defaults.smtp).model_fields]

    def named(key: str) -> bool:
        return any(form in docs for form in (f"{key}:", f"`{key}`", f".{key}`"))

    assert [key for key in keys if not named(key)] == []


def test_the_hung_lock_threshold_the_docs_quote_is_the_codes():
    docs = " ".join((ROOT / "docs/delivery.md").read_text().split())
    minutes = lock_stale_after(DeliverySettings()).total_seconds() / 60

    assert f"{minutes:.0f} minutes by default" in docs
