from __future__ import annotations

from django.db.models import Q, QuerySet

from omnia.catalog.models import Product
from omnia.core.text import search_key


def search_products(text: str = "") -> QuerySet[Product]:
    """Products whose name, SKU or barcode contains `text` (case-insensitive)."""
    qs = Product.objects.select_related("category").prefetch_related("variants")
    text = text.strip()
    if text:
        qs = qs.filter(
            Q(search_text__contains=search_key(text)) | Q(variants__sku__iexact=text) | Q(variants__barcode=text)
        ).distinct()
    return qs
