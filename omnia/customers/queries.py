"""Reads: the one search box, lists with filters, the card, the timeline, consents, duplicates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery

from omnia.core.errors import ValidationFailed
from omnia.core.phones import normalize_phone
from omnia.core.text import PAIR_HEAD, PAIR_MARK, transliterate, words
from omnia.customers.errors import CustomerNotFound, MergeNotFound
from omnia.customers.fields import TOP, key_order
from omnia.customers.models import Consent, Customer, Identity, Merge, NotDuplicate, SearchToken, TimelineEntry
from omnia.customers.registry import search_lookups


def active_customers() -> QuerySet[Customer]:
    """Cards that are not merged into another."""
    return Customer.objects.filter(merged_into__isnull=True)


# A name search considers at most NAME_MATCH_CAP cards, the most recently contacted that match. One
# typed word is ranked key by key: the first NAME_MATCH_CAP entries of each of the (at most
# MAX_PREFIX_KEYS) words starting with it. Otherwise, and for a prefix of more words (one or two
# letters), it reads at most NAME_SCAN_CAP index entries and ranks those (one more letter narrows it).
NAME_MATCH_CAP = 200
NAME_SCAN_CAP = 20_000
MAX_PREFIX_KEYS = 32
MAX_TYPED_WORDS = 4


def _significant_words(text: str) -> list[str]:
    """The typed words, less any that starts another (it adds nothing: 'ай айгерим' = 'айгерим')."""
    typed = list(dict.fromkeys(words(text)))[:MAX_TYPED_WORDS]
    return [w for w in typed if not any(other != w and other.startswith(w) for other in typed)]


def _is_latin(word: str) -> bool:
    return transliterate(word) == word


def _key_condition(typed: list[str]) -> tuple[Q, list[str]]:
    """One range of keys for the typed words, and the typed words it does not check exactly.

    One word is a range of the word keys. Two words are a range of the pair keys
    ('MARK a[:3] MARK b MARK a[3:]', core.text.pair_key, for name words a, b, as written and in
    Latin), the pair whose range is narrowest; a third and fourth word are checked per card. A
    Cyrillic word typed with a Latin one is looked up in Latin (a superset), then checked as typed.
    """
    options: list[tuple[tuple[int, bool], Q, list[str]]] = []
    for first in typed:
        for second in typed:
            exact = _is_latin(first) == _is_latin(second)
            a, b = (first, second) if exact else (transliterate(first), transliterate(second))
            if first == second or a.startswith(b) or b.startswith(a):
                # In Latin, one name word may match both ('seitk се' → Сейткали): pairs are two words.
                continue
            if len(a) >= PAIR_HEAD:
                parts = [f"{PAIR_MARK}{a[:PAIR_HEAD]}{PAIR_MARK}{b}", f"{PAIR_MARK}{a[PAIR_HEAD:]}"]
            else:
                parts = [f"{PAIR_MARK}{a}", f"{PAIR_MARK}{b}", PAIR_MARK]
            unchecked = [w for w in typed if w not in (first, second) or not (exact or _is_latin(w))]
            options.append(((len(parts[0]), exact), Q(token__like=parts), unchecked))
    if not options:
        longest = max(typed, key=len)
        return Q(token__prefix=longest), [w for w in typed if w != longest]
    _, condition, unchecked = max(options, key=lambda option: option[0])
    return condition, unchecked


def name_match_ids(text: str) -> list[int] | None:
    """Ids of active customers with, for every typed word, a name word starting with it (any order,
    Cyrillic or Latin): at most NAME_MATCH_CAP, most recently contacted (by day) first. None when
    `text` has no words.

    Answered from the covering key index alone (see _key_condition), never the customer table.
    """
    typed = _significant_words(text)
    if not typed:
        return None
    condition, unchecked = _key_condition(typed)
    connection = connections[SearchToken.objects.db]
    with connection.cursor() as cursor:
        if len(typed) == 1:
            keys = _keys_starting(cursor, connection, typed[0])
            if len(keys) <= MAX_PREFIX_KEYS:
                return _first_cards_of(cursor, connection, keys)
        rows = SearchToken.objects.filter(condition)
        for word in unchecked:
            rows = rows.filter(
                Exists(SearchToken.objects.filter(customer_id=OuterRef("customer_id"), token__prefix=word))
            )
        scan, params = rows.values_list("customer_id", "contact_day")[:NAME_SCAN_CAP].query.sql_with_params()
        # Ranked outside the bounded scan (Django cannot put a subquery in FROM).
        cursor.execute(
            f"SELECT m.customer_id FROM ({scan}) m ORDER BY m.contact_day DESC, m.customer_id DESC LIMIT %s",  # noqa: S608
            [*params, NAME_MATCH_CAP],
        )
        # A card with two keys in the range (a name with two words starting 'айг') comes twice, adjacent.
        return list(dict.fromkeys(row[0] for row in cursor.fetchall()))


def _keys_starting(cursor: Any, connection: Any, prefix: str) -> list[str]:
    """The different keys that start with `prefix` (at most MAX_PREFIX_KEYS + 1), by a skip scan of the
    index: one probe per key, however many cards have it."""
    table, order = connection.ops.quote_name(SearchToken._meta.db_table), key_order(connection)
    upper = prefix + TOP
    # Table name and operators are ours, values are parameters.
    cursor.execute(
        f"""WITH RECURSIVE keys(token, n) AS (
            SELECT (SELECT token FROM {table} WHERE token {order.ge} %s AND token {order.lt} %s
                    ORDER BY token {order.order_by} LIMIT 1), 1
            UNION ALL
            SELECT (SELECT k.token FROM {table} k WHERE k.token {order.gt} keys.token AND k.token {order.lt} %s
                    ORDER BY k.token {order.order_by} LIMIT 1), keys.n + 1
            FROM keys WHERE keys.token IS NOT NULL AND keys.n <= %s
        )
        SELECT token FROM keys WHERE token IS NOT NULL""",  # noqa: S608
        [prefix, upper, upper, MAX_PREFIX_KEYS],
    )
    return [row[0] for row in cursor.fetchall()]


def _first_cards_of(cursor: Any, connection: Any, keys: list[str]) -> list[int]:
    """The NAME_MATCH_CAP most recently contacted cards having any of `keys`: the index keeps each
    key's cards in that order, so each key is read only as far as NAME_MATCH_CAP entries."""
    if not keys:
        return []
    table = connection.ops.quote_name(SearchToken._meta.db_table)
    each = (
        f"SELECT * FROM (SELECT customer_id, contact_day FROM {table} WHERE token = %s"  # noqa: S608
        " ORDER BY contact_day DESC, customer_id DESC LIMIT %s) k{}"
    )
    union = " UNION ALL ".join(each.format(i) for i in range(len(keys)))
    cursor.execute(
        f"SELECT m.customer_id FROM ({union}) m ORDER BY m.contact_day DESC, m.customer_id DESC LIMIT %s",  # noqa: S608
        [*(value for key in keys for value in (key, NAME_MATCH_CAP)), NAME_MATCH_CAP],
    )
    return list(dict.fromkeys(row[0] for row in cursor.fetchall()))


def exact_match_ids(text: str) -> set[int]:
    """Cards whose e-mail, phone (any format), loyalty card or order number is exactly `text`."""
    ids: set[int] = set()
    if "@" in text:
        ids |= set(
            Identity.objects.filter(kind=Identity.Kind.EMAIL, value=text.lower()).values_list("customer_id", flat=True)
        )
    digits = sum(ch.isdigit() for ch in text)
    if digits >= 7:
        try:
            phone = normalize_phone(text)
        except ValidationFailed:
            phone = None
        if phone:
            ids |= set(
                Identity.objects.filter(
                    kind__in=[Identity.Kind.PHONE, Identity.Kind.WHATSAPP], value=phone
                ).values_list("customer_id", flat=True)
            )
    if digits:
        ids |= set(Customer.objects.filter(loyalty_card=text).values_list("pk", flat=True))
        for lookup in search_lookups():
            ids |= {int(pk) for pk in lookup(text)}  # type: ignore[call-overload]
    return ids


def _looks_like_a_number(text: str) -> bool:
    digits = sum(ch.isdigit() for ch in text)
    return digits >= 7 and digits == sum(ch.isalnum() for ch in text)


def search_condition(text: str) -> Q | None:
    """What the one search box matches for `text`: exact handles first; names when nothing exact matched."""
    text = " ".join(text.split())
    if not text:
        return None
    exact = exact_match_ids(text)
    if exact:
        return Q(pk__in=sorted(exact))
    if _looks_like_a_number(text):
        return Q(pk__in=[])
    return Q(pk__in=name_match_ids(text) or [])


def search_customers(text: str = "") -> QuerySet[Customer]:
    """The search box: every match, most recently in touch first; all active cards for empty text."""
    qs = active_customers().prefetch_related("identities", "tags")
    condition = search_condition(text)
    if condition is not None:
        qs = qs.filter(condition)
    return qs.order_by(F("last_contact_at").desc(nulls_last=True), "-id")


def search_customer_ids(text: str, *, limit: int = 50) -> list[int]:
    """The first page of the search box's answer, as ids (most recently in touch first)."""
    return list(search_customers(text).values_list("pk", flat=True)[:limit])


@dataclass(frozen=True)
class CustomerFilters:
    tag: str = ""
    channel: str = ""  # has an identity of this kind
    city: str = ""
    has_orders: bool | None = None
    contacted_since: dt.datetime | None = None
    not_contacted_since: dt.datetime | None = None


def list_customers(text: str = "", filters: CustomerFilters | None = None) -> QuerySet[Customer]:
    qs = search_customers(text)
    f = filters or CustomerFilters()
    if f.tag:
        qs = qs.filter(tags__name=f.tag.lower())
    if f.channel:
        qs = qs.filter(Exists(Identity.objects.filter(customer=OuterRef("pk"), kind=f.channel)))
    if f.city:
        qs = qs.filter(city=f.city)
    if f.has_orders is True:
        qs = qs.filter(orders_count__gt=0)
    elif f.has_orders is False:
        qs = qs.filter(orders_count=0)
    if f.contacted_since:
        qs = qs.filter(last_contact_at__gte=f.contacted_since)
    if f.not_contacted_since:
        qs = qs.filter(Q(last_contact_at__lt=f.not_contacted_since) | Q(last_contact_at__isnull=True))
    return qs


def list_cities() -> list[str]:
    return list(active_customers().exclude(city="").values_list("city", flat=True).distinct().order_by("city"))


def get_customer(customer_id: int, *, field: str = "customer_id") -> Customer:
    """The card (merged cards too: the caller may redirect to `merged_into`); CUSTOMER_NOT_FOUND names `field`."""
    customer = Customer.objects.prefetch_related("identities", "addresses", "tags").filter(pk=customer_id).first()
    if customer is None:
        raise CustomerNotFound(f"No customer #{customer_id}.", field=field)
    return customer


def timeline(customer: Customer, *, kind: str = "", channel: str = "") -> QuerySet[TimelineEntry]:
    qs = TimelineEntry.objects.filter(customer=customer).select_related("actor")
    if kind:
        qs = qs.filter(kind=kind)
    if channel:
        qs = qs.filter(channel=channel)
    return qs.order_by("-at", "-id")


def consents_in_force(customer: Customer) -> list[Consent]:
    """The latest consent per (channel, purpose)."""
    latest: dict[tuple[str, str], Consent] = {}
    for consent in customer.consents.order_by("at", "id"):
        latest[(consent.channel, consent.purpose)] = consent
    return sorted(latest.values(), key=lambda c: (c.purpose, c.channel))


def may_contact(customer: Customer, *, channel: str, purpose: str) -> bool:
    """Whether a message for `purpose` may go to the customer through `channel`.

    The latest record for the channel (or for every channel) decides; with none, service messages
    are allowed and marketing is not (opt-in).
    """
    state = {(c.channel, c.purpose): c for c in consents_in_force(customer)}
    candidates = [c for c in (state.get((channel, purpose)), state.get((Consent.ANY_CHANNEL, purpose))) if c]
    if candidates:
        return max(candidates, key=lambda c: (c.at, c.pk)).granted
    return purpose == Consent.Purpose.TRANSACTIONAL


def get_merge(merge_id: int) -> Merge:
    merge = Merge.objects.select_related("survivor", "absorbed").filter(pk=merge_id).first()
    if merge is None:
        raise MergeNotFound(f"No merge #{merge_id}.", field="merge_id")
    return merge


def merges_of(customer: Customer) -> QuerySet[Merge]:
    return Merge.objects.filter(Q(survivor=customer) | Q(absorbed=customer)).select_related("survivor", "absorbed")


@dataclass(frozen=True)
class Suggestion:
    first: Customer
    second: Customer
    reason: str


def suggested_duplicates(*, limit: int = 50) -> list[Suggestion]:
    """Cards that are probably one person: a messenger handle equal to another card's phone, or the
    same name in the same city. Pairs an operator dismissed are left out."""
    dismissed = {(d.first_id, d.second_id) for d in NotDuplicate.objects.all()}
    pairs: dict[tuple[int, int], str] = {}

    phone_owner = Identity.objects.filter(kind=Identity.Kind.PHONE, value=OuterRef("value")).exclude(
        customer_id=OuterRef("customer_id")
    )
    shared = (
        Identity.objects.filter(
            kind__in=[Identity.Kind.WHATSAPP, Identity.Kind.KASPI, Identity.Kind.VIBER],
            customer__merged_into__isnull=True,
        )
        .annotate(other=Subquery(phone_owner.values("customer_id")[:1]))
        .filter(other__isnull=False)
        .values_list("customer_id", "other", "value")[: limit * 2]
    )
    for a, b, value in shared:
        key = (min(a, b), max(a, b))
        if key not in dismissed:
            pairs.setdefault(key, f"same phone {value}")

    same_name = (
        active_customers()
        .exclude(first_name="")
        .exclude(last_name="")
        .exclude(city="")
        .values("first_name", "last_name", "city")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .order_by("last_name", "first_name")[: limit * 2]
    )
    for group in same_name:
        ids = list(
            active_customers()
            .filter(first_name=group["first_name"], last_name=group["last_name"], city=group["city"])
            .order_by("pk")
            .values_list("pk", flat=True)[:5]
        )
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                if (a, b) not in dismissed:
                    pairs.setdefault((a, b), f"same name in {group['city']}")
        if len(pairs) >= limit:
            break

    cards = Customer.objects.prefetch_related("identities").in_bulk([pk for pair in pairs for pk in pair])
    usable = [
        Suggestion(first=cards[a], second=cards[b], reason=reason)
        for (a, b), reason in pairs.items()
        if cards[a].merged_into_id is None and cards[b].merged_into_id is None
    ]
    return usable[:limit]
