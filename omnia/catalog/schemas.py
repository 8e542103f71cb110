from __future__ import annotations

from decimal import Decimal

from ninja import Schema

from omnia.catalog.models import Product, Variant


class VariantOut(Schema):
    id: int
    sku: str
    barcode: str
    name: str
    attributes: dict[str, str]
    price: Decimal
    currency: str

    @staticmethod
    def of(v: Variant) -> VariantOut:
        return VariantOut(
            id=v.pk,
            sku=v.sku,
            barcode=v.barcode,
            name=v.name,
            attributes=v.attributes,
            price=v.price,
            currency=v.currency,
        )


class ProductOut(Schema):
    id: int
    name: str
    brand: str
    category: str | None
    variants: list[VariantOut]

    @staticmethod
    def of(p: Product) -> ProductOut:
        return ProductOut(
            id=p.pk,
            name=p.name,
            brand=p.brand,
            category=p.category.name if p.category else None,
            variants=[VariantOut.of(v) for v in p.variants.all()],
        )
