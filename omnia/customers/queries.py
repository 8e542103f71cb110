from __future__ import annotations

from django.db.models import Q, QuerySet

from omnia.core.errors import ValidationFailed
from omnia.core.phones import normalize_phone
from omnia.core.text import search_key
from omnia.customers.models import Customer, Identity


def search_customers(text: str = "") -> QuerySet[Customer]:
    """Customers matching a phone in any format, an e-mail, or part of a name."""
    qs = Customer.objects.prefetch_related("identities")
    text = text.strip()
    if not text:
        return qs
    conditions = Q(search_text__contains=search_key(text)) | Q(loyalty_card=text)
    if "@" in text:
        conditions |= Q(identities__kind=Identity.Kind.EMAIL, identities__value=text.lower())
    if sum(ch.isdigit() for ch in text) >= 7:
        try:
            phone = normalize_phone(text)
        except ValidationFailed:
            phone = None
        if phone:
            conditions |= Q(identities__kind=Identity.Kind.PHONE, identities__value=phone)
    return qs.filter(conditions).distinct()
