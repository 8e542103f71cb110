"""Omnia: omnichannel commerce and customer communication for retailers."""

__version__ = "0.1.0"
