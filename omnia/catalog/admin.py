from django.contrib import admin

from omnia.catalog.models import Category, Product, Variant
from omnia.core.admin_base import SectionAdmin
from omnia.core.permissions import Section


@admin.register(Category)
class CategoryAdmin(SectionAdmin):
    section = Section.SETTINGS
    list_display = ["name", "parent", "slug"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ("name",)}


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ["sku", "name", "barcode", "price", "currency", "is_active"]


@admin.register(Product)
class ProductAdmin(SectionAdmin):
    section = Section.SETTINGS
    list_display = ["name", "brand", "category", "is_active"]
    list_filter = ["category", "is_active"]
    search_fields = ["name", "variants__sku", "variants__barcode"]
    inlines = [VariantInline]


@admin.register(Variant)
class VariantAdmin(SectionAdmin):
    section = Section.SETTINGS
    list_display = ["sku", "product", "name", "price", "currency", "barcode", "is_active"]
    search_fields = ["sku", "barcode", "product__name"]
    list_select_related = ["product"]
