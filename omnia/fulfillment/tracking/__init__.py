"""Carrier tracking adapters: one per Carrier.tracking value, behind one interface (base.TrackingAdapter)."""
