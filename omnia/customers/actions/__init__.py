"""Every state change of customers. Other apps call these as `customers_actions.do_…`."""

from omnia.customers.actions.consent import check_record_consent
from omnia.customers.actions.identity import (
    PhoneIn,
    Resolution,
    check_add_identity,
    do_remove_identity,
    do_resolve_identity,
    do_resolve_phones,
    normalize_identity,
)
from omnia.customers.actions.merge import check_merge, check_undo_merge
from omnia.customers.actions.profile import (
    check_add_address,
    check_create_customer,
    check_edit_card,
    check_update_customer,
    do_add_note,
    do_remove_address,
    do_set_tags,
    reindex_customer,
    reindex_customers,
)
from omnia.customers.actions.stock_requests import do_request_back_in_stock
from omnia.customers.actions.suggestions import do_dismiss_suggestion
from omnia.customers.actions.timeline import (
    OrderRecord,
    do_record_order,
    do_record_order_reversal,
    do_record_orders,
    do_record_timeline,
)

__all__ = [
    "OrderRecord",
    "PhoneIn",
    "Resolution",
    "check_add_address",
    "check_add_identity",
    "check_create_customer",
    "check_edit_card",
    "check_merge",
    "check_record_consent",
    "check_undo_merge",
    "check_update_customer",
    "do_add_note",
    "do_dismiss_suggestion",
    "do_record_order",
    "do_record_order_reversal",
    "do_record_orders",
    "do_record_timeline",
    "do_remove_address",
    "do_remove_identity",
    "do_request_back_in_stock",
    "do_resolve_identity",
    "do_resolve_phones",
    "do_set_tags",
    "normalize_identity",
    "reindex_customer",
    "reindex_customers",
]
