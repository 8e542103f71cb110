"""Catalog errors with stable codes; omnia.api maps them to HTTP statuses (404, 409, 422, 403)."""

from omnia.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


class ProductNotFound(NotFound):
    code = "PRODUCT_NOT_FOUND"


class VariantNotFound(NotFound):
    code = "VARIANT_NOT_FOUND"


class SkuNotFound(NotFound):
    code = "SKU_NOT_FOUND"


class BarcodeNotFound(NotFound):
    code = "BARCODE_NOT_FOUND"


class CategoryNotFound(NotFound):
    code = "CATEGORY_NOT_FOUND"


class ImageNotFound(NotFound):
    code = "IMAGE_NOT_FOUND"


class SkuTaken(Conflict):
    code = "SKU_TAKEN"


class BarcodeTaken(Conflict):
    code = "BARCODE_TAKEN"


class SlugTaken(Conflict):
    code = "SLUG_TAKEN"


class CategoryInUse(Conflict):
    """A category with products or sub-categories cannot be deleted."""

    code = "CATEGORY_IN_USE"


class CategoryCycle(ValidationFailed):
    code = "CATEGORY_CYCLE"


class InvalidPrice(ValidationFailed):
    code = "PRICE_INVALID"


class InvalidPromotion(ValidationFailed):
    code = "PROMO_INVALID"


class InvalidCatalogInput(ValidationFailed):
    """A value the catalog cannot take: a blank name, an unknown language, a bad barcode…"""

    code = "VALIDATION_FAILED"


class CatalogEditForbidden(PermissionDenied):
    """Only a manager or the owner changes the catalog and its prices."""

    code = "CATALOG_FORBIDDEN"


class ImportFileInvalid(ValidationFailed):
    """The file as a whole cannot be imported: wrong type, unreadable, too big, no SKU column."""

    code = "IMPORT_FILE_INVALID"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, field="file", code=code)


class ImportNotFound(NotFound):
    code = "IMPORT_NOT_FOUND"


class ImportNotPending(Conflict):
    """The import was already confirmed: it cannot be confirmed (or cancelled) again."""

    code = "IMPORT_NOT_PENDING"
