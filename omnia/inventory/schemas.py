"""Stock over the API: what comes in (locations by code, variants by SKU) and what goes out."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from omnia.catalog import queries as catalog_queries
from omnia.catalog.models import Variant
from omnia.core.audit import actor_label
from omnia.inventory.availability import Arrival, LocationStock
from omnia.inventory.models import Location, Reservation, StockMove, StockSubscription, Supply, Transfer


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


class LocationOut(Schema):
    id: int
    code: str
    name: str
    kind: str
    city: str
    address: str
    opening_hours: str
    sells: bool
    ships: bool
    offers_pickup: bool
    accepts_returns: bool

    @staticmethod
    def of(loc: Location) -> LocationOut:
        return LocationOut(
            id=loc.pk,
            code=loc.code,
            name=loc.name,
            kind=loc.kind,
            city=loc.city,
            address=loc.address,
            opening_hours=loc.opening_hours,
            sells=loc.sells,
            ships=loc.ships,
            offers_pickup=loc.offers_pickup,
            accepts_returns=loc.accepts_returns,
        )


# --- availability --------------------------------------------------------------------------------------


class ArrivalOut(Schema):
    date: dt.date
    quantity: int

    @staticmethod
    def of(arrival: Arrival | None) -> ArrivalOut | None:
        return None if arrival is None else ArrivalOut(date=arrival.date, quantity=arrival.quantity)


class LocationStockOut(Schema):
    code: str
    name: str
    kind: str
    city: str
    on_hand: int
    reserved: int
    available: int = Field(description="on_hand − reserved: what can be sold or reserved now")
    in_transit: int = Field(description="Shipped here by transfers, not arrived yet")
    ships: bool = Field(description="Ships orders to the asked city (to anywhere it ships, when no city was asked)")
    pickup: bool = Field(description="Offers pick-up in the asked city (at all, when no city was asked)")
    next_arrival: ArrivalOut | None = Field(description="The earliest expected supply or transfer here")

    @staticmethod
    def of(row: LocationStock) -> LocationStockOut:
        place = row.location
        return LocationStockOut(
            code=place.code, name=place.name, kind=place.kind, city=place.city, on_hand=row.on_hand,
            reserved=row.reserved, available=row.available, in_transit=row.in_transit, ships=row.ships,
            pickup=row.pickup, next_arrival=ArrivalOut.of(row.next_arrival),
        )  # fmt: skip


class AvailabilityOut(Schema):
    sku: str
    price: str = Field(description="What the customer pays now (the promotional price while it runs), e.g. '4990.00'")
    currency: str
    regular_price: str = Field(description="The price without the promotion")
    promo_ends_at: dt.datetime | None = Field(description="When the running promotion ends; null without one")
    locations: list[LocationStockOut]

    @staticmethod
    def of(variant: Variant, rows: list[LocationStock]) -> AvailabilityOut:
        now = catalog_queries.price_now(variant)
        return AvailabilityOut(
            sku=variant.sku, price=money(now.price), currency=now.currency, regular_price=money(now.regular_price),
            promo_ends_at=now.promo_ends_at, locations=[LocationStockOut.of(r) for r in rows],
        )  # fmt: skip


class AvailabilityBatchIn(Schema):
    skus: list[str] = Field(min_length=1, max_length=200)
    city: str = ""


class AvailabilityBatchOut(Schema):
    items: list[AvailabilityOut]


class WhereElseOut(Schema):
    sku: str
    locations: list[LocationStockOut] = Field(description="Other locations with units available now, most first")


# --- documents in --------------------------------------------------------------------------------------


class LineIn(Schema):
    sku: str
    quantity: int = Field(description="Whole units above zero")


class ReceiptIn(Schema):
    location: str = Field(description="The location's code")
    lines: list[LineIn]
    reference: str = Field("", max_length=100, description="The document: a waybill number, 'opening'…")
    reason: str = Field("", max_length=300)


class SaleIn(Schema):
    sku: str
    location: str
    quantity: int
    reference: str = Field("", max_length=100, description="The till receipt or order number")


class ReturnIn(Schema):
    sku: str
    location: str
    quantity: int
    reference: str = Field("", max_length=100)
    reason: str = Field("", max_length=300)


class CorrectionIn(Schema):
    sku: str
    location: str
    counted: int | None = Field(None, description="Units counted on the shelf (give this or delta)")
    delta: int | None = Field(None, description="Units to add (positive) or remove (negative)")
    reason: str = Field("", description="Required: recount, damage, loss…")


class ReservationIn(Schema):
    sku: str
    location: str
    quantity: int
    owner_kind: str = Field(Reservation.Owner.HOLD.value, description="hold, cart or order_line")
    owner_ref: str = Field("", max_length=100, description="The cart or order line it is for")
    expires_at: dt.datetime | None = None
    note: str = Field("", max_length=300)


class ReleaseIn(Schema):
    reason: str = Field("", max_length=300)


class ConsumeIn(Schema):
    reference: str = Field("", max_length=100, description="The sale or shipment document")


class TransferIn(Schema):
    source: str = Field(description="Code of the location the units leave")
    destination: str = Field(description="Code of the location they go to")
    lines: list[LineIn]
    expected_on: dt.date | None = None
    note: str = Field("", max_length=300)


class CancelIn(Schema):
    reason: str = Field("", max_length=300)


class SupplyIn(Schema):
    location: str
    expected_on: dt.date | None = Field(None, description="Required: the date people see as the next arrival")
    lines: list[LineIn]
    supplier: str = Field("", max_length=200)
    reference: str = Field("", max_length=100)


class ReceivedLineIn(Schema):
    sku: str
    quantity: int = Field(description="Units that arrived: zero or more")


class SupplyReceiveIn(Schema):
    lines: list[ReceivedLineIn] | None = Field(None, description="What arrived; omitted: every line as expected")


class StockRequestIn(Schema):
    sku: str
    location: str | None = Field(None, description="A location's code; omitted: back anywhere")
    channel: str = Field("", max_length=16, description="The channel to tell the customer through")


# --- documents out --------------------------------------------------------------------------------------


class MoveOut(Schema):
    id: int
    at: dt.datetime
    sku: str
    location: str
    kind: str
    quantity: int = Field(description="On-hand change: positive in, negative out")
    reserved_change: int
    reason: str
    reference: str
    actor: str | None

    @staticmethod
    def of(move: StockMove) -> MoveOut:
        return MoveOut(
            id=move.pk, at=move.at, sku=move.variant.sku, location=move.location.code, kind=move.kind,
            quantity=move.quantity, reserved_change=move.reserved_change, reason=move.reason,
            reference=move.reference, actor=actor_label(move.actor) if move.actor_id else None,
        )  # fmt: skip


class ReceiptOut(Schema):
    location: str
    reference: str
    moves: list[MoveOut]


class CorrectionOut(Schema):
    changed: bool = Field(description="False when the count matched: nothing was written")
    move: MoveOut | None


class ReservationOut(Schema):
    id: int
    sku: str
    location: str
    quantity: int
    owner_kind: str
    owner_ref: str
    status: str
    expires_at: dt.datetime | None
    note: str
    created_at: dt.datetime
    closed_at: dt.datetime | None

    @staticmethod
    def of(r: Reservation) -> ReservationOut:
        return ReservationOut(
            id=r.pk, sku=r.variant.sku, location=r.location.code, quantity=r.quantity, owner_kind=r.owner_kind,
            owner_ref=r.owner_ref, status=r.status, expires_at=r.expires_at, note=r.note, created_at=r.created_at,
            closed_at=r.closed_at,
        )  # fmt: skip


class DocumentLineOut(Schema):
    sku: str
    quantity: int


class TransferOut(Schema):
    id: int
    source: str
    destination: str
    status: str
    expected_on: dt.date | None
    note: str
    created_at: dt.datetime
    shipped_at: dt.datetime | None
    received_at: dt.datetime | None
    lines: list[DocumentLineOut]

    @staticmethod
    def of(t: Transfer) -> TransferOut:
        return TransferOut(
            id=t.pk, source=t.source.code, destination=t.destination.code, status=t.status,
            expected_on=t.expected_on, note=t.note, created_at=t.created_at, shipped_at=t.shipped_at,
            received_at=t.received_at,
            lines=[DocumentLineOut(sku=line.variant.sku, quantity=line.quantity) for line in t.lines.all()],
        )  # fmt: skip


class SupplyLineOut(Schema):
    sku: str
    quantity: int
    received_quantity: int


class SupplyOut(Schema):
    id: int
    location: str
    supplier: str
    reference: str
    expected_on: dt.date
    status: str
    created_at: dt.datetime
    received_at: dt.datetime | None
    lines: list[SupplyLineOut]

    @staticmethod
    def of(s: Supply) -> SupplyOut:
        return SupplyOut(
            id=s.pk, location=s.location.code, supplier=s.supplier, reference=s.reference,
            expected_on=s.expected_on, status=s.status, created_at=s.created_at, received_at=s.received_at,
            lines=[
                SupplyLineOut(sku=line.variant.sku, quantity=line.quantity, received_quantity=line.received_quantity)
                for line in s.lines.all()
            ],
        )  # fmt: skip


class StockRequestOut(Schema):
    id: int
    customer_id: int
    sku: str
    location: str | None
    channel: str
    created_at: dt.datetime
    notified_at: dt.datetime | None

    @staticmethod
    def of(s: StockSubscription) -> StockRequestOut:
        return StockRequestOut(
            id=s.pk, customer_id=s.customer_id, sku=s.variant.sku, location=s.location.code if s.location else None,
            channel=s.channel, created_at=s.created_at, notified_at=s.notified_at,
        )  # fmt: skip


# --- catalog import ---------------------------------------------------------------------------------------


class ImportErrorOut(Schema):
    row: int | None = Field(description="The spreadsheet row (the header is row 1); null for the whole file")
    field: str = Field(description="What the column is: sku, price, promo_price, stock:<location>…")
    column: str = Field(description="The column's header as written in the file")
    message: str


class ImportPreviewRowOut(Schema):
    row: int
    values: dict[str, str] = Field(description="The row's values by field, as text")
    errors: list[ImportErrorOut]


class ImportPreviewOut(Schema):
    columns: dict[str, str] = Field(description="Header as written → what it was read as")
    ignored_columns: list[str]
    would_create: int
    would_update: int
    would_leave_unchanged: int
    rows: list[ImportPreviewRowOut] = Field(description="The first rows of the file")


class ImportJobOut(Schema):
    id: int
    status: str = Field(description="preview → queued → running → done (or failed)")
    filename: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    total_rows: int
    processed_rows: int = Field(description="Progress: rows done of total_rows")
    created: int
    updated: int
    unchanged: int
    error_count: int
    errors: list[ImportErrorOut]
    errors_offset: int
    preview: ImportPreviewOut | None = Field(description="While the status is preview: the forecast and first rows")
