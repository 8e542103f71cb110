"""Deterministic demo-shop generator (placeholder until the full generator lands)."""

from __future__ import annotations


def load_demo(*, size: str, seed: int) -> None:
    """Fill an empty database with the demo shop."""
    from omnia.core import clock
    from omnia.inventory.models import Location

    Location.objects.create(code="alm-dostyk", name="Алматы, Достык", kind=Location.Kind.STORE, city="Алматы")
    _ = clock
