"""The demo shop's delivery: its own couriers in Almaty and Astana (the same day when ready before 14:00, free
from 30 000 ₸), Kazpost for the rest of Kazakhstan (3–7 working days) and CDEK to the door or to its pick-up
points in three cities; KZT tariffs by weight. Made through the fulfillment actions (validated, deterministic:
the same set every load)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from omnia.fulfillment import actions
from omnia.fulfillment.models import Carrier, Zone

# Kazakhstan's public holidays (days off for Kazpost and CDEK); the shop's couriers work through them.
HOLIDAYS = [
    "2026-12-16", "2026-12-17", "2027-01-01", "2027-01-02", "2027-01-07", "2027-03-08", "2027-03-21",
    "2027-03-22", "2027-03-23", "2027-05-01", "2027-05-07", "2027-05-09", "2027-07-06", "2027-08-30",
    "2027-10-25", "2027-12-16",
]  # fmt: skip

KAZPOST_CITIES = [
    "Шымкент", "Караганда", "Актобе", "Тараз", "Павлодар", "Усть-Каменогорск", "Семей", "Атырау", "Костанай",
    "Кызылорда", "Уральск", "Петропавловск", "Актау", "Туркестан", "Талдыкорган", "Кокшетау", "Темиртау",
    "Экибастуз", "Рудный", "Жезказган", "Жанаозен", "Балхаш", "Конаев", "Сатпаев", "Щучинск", "Каскелен",
    "Талгар", "Кентау", "Аральск", "Аягоз",
]  # fmt: skip

CDEK_POINTS = [
    {"code": "ALA12", "name": "СДЭК на Абая", "address": "пр. Абая, 68/74", "city": "Алматы"},
    {"code": "ALA31", "name": "СДЭК на Толе би", "address": "ул. Толе би, 189", "city": "Алматы"},
    {"code": "AST4", "name": "СДЭК на Кенесары", "address": "ул. Кенесары, 40", "city": "Астана"},
    {"code": "AST9", "name": "СДЭК на Туран", "address": "пр. Туран, 55", "city": "Астана"},
    {"code": "CIT3", "name": "СДЭК на Тауке хана", "address": "пр. Тауке хана, 27", "city": "Шымкент"},
]


def _tariffs(zone: Zone, prices: list[tuple[int | None, int]]) -> None:
    for weight, price in prices:
        actions.check_create_tariff(actor=None, zone=zone, price=Decimal(price), max_weight_grams=weight)


def load_delivery() -> list[Carrier]:
    """The demo's carriers, zones and tariffs, and the shop's delivery settings (once: a shop that has
    carriers keeps them)."""
    if Carrier.objects.exists():
        return list(Carrier.objects.order_by("position", "name", "id"))
    actions.do_get_settings()
    actions.check_update_settings(actor=None, transfer_days=2, default_weight_grams=500)

    own = actions.check_create_carrier(
        actor=None,
        code="own",
        name="Свои курьеры",
        kind="own_courier",
        cutoff_time=dt.time(14, 0),
        position=0,
        working_days=[0, 1, 2, 3, 4, 5],
    ).carrier
    for position, city in enumerate(["Алматы", "Астана"]):
        zone = actions.check_create_zone(
            actor=None,
            carrier=own,
            name=city,
            cities=[city],
            days_min=0,
            days_max=0,
            free_from=Decimal(30000),
            position=position,
        )
        _tariffs(zone, [(2000, 1500), (5000, 2000), (15000, 3000), (None, 5000)])

    kazpost = actions.check_create_carrier(
        actor=None,
        code="kazpost",
        name="Казпочта",
        kind="kazpost",
        position=2,
        tracking_url="https://post.kz/mail/search/track/{tracking_number}/detail",
        cutoff_time=dt.time(12, 0),
        working_days=[0, 1, 2, 3, 4],
        holidays=HOLIDAYS,
    ).carrier
    regions = actions.check_create_zone(
        actor=None, carrier=kazpost, name="Казахстан", cities=KAZPOST_CITIES, days_min=3, days_max=7
    )
    _tariffs(regions, [(1000, 1200), (5000, 1900), (10000, 2900), (None, 4500)])

    cdek = actions.check_create_carrier(
        actor=None,
        code="cdek",
        name="СДЭК",
        kind="cdek",
        position=1,
        tracking="cdek",
        tracking_url="https://www.cdek.kz/ru/tracking?order_id={tracking_number}",
        cutoff_time=dt.time(16, 0),
        working_days=[0, 1, 2, 3, 4, 5],
        holidays=HOLIDAYS,
    ).carrier
    door = actions.check_create_zone(
        actor=None,
        carrier=cdek,
        name="До двери",
        cities=["Алматы", "Астана", "Шымкент", "Караганда"],
        days_min=2,
        days_max=4,
    )
    _tariffs(door, [(1000, 1700), (5000, 2400), (None, 3900)])
    points = actions.check_create_zone(
        actor=None,
        carrier=cdek,
        name="Пункты выдачи",
        cities=["Алматы", "Астана", "Шымкент"],
        days_min=2,
        days_max=4,
        door_delivery=False,
        pickup_points=CDEK_POINTS,
        position=1,
    )
    _tariffs(points, [(1000, 1100), (5000, 1600), (None, 2700)])
    return [own, kazpost, cdek]
