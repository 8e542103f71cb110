from django.urls import path

from omnia.console import stock_views as views

urlpatterns = [
    path("", views.search, name="stock"),
    path("products/<int:product_id>/", views.product_detail, name="stock_product"),
    path("products/<int:product_id>/notify/", views.product_notify, name="stock_product_notify"),
    path("customers/", views.customer_choices, name="stock_customer_choices"),
    path("holds/", views.holds, name="stock_holds"),
    path("holds/new/", views.hold_new, name="stock_hold_new"),
    path("holds/<int:hold_id>/release/", views.hold_release, name="stock_hold_release"),
    path("holds/<int:hold_id>/sold/", views.hold_consume, name="stock_hold_consume"),
    path("transfers/", views.transfers, name="stock_transfers"),
    path("transfers/new/", views.transfer_new, name="stock_transfer_new"),
    path("transfers/<int:transfer_id>/ship/", views.transfer_ship, name="stock_transfer_ship"),
    path("transfers/<int:transfer_id>/receive/", views.transfer_receive, name="stock_transfer_receive"),
    path("transfers/<int:transfer_id>/cancel/", views.transfer_cancel, name="stock_transfer_cancel"),
    path("receipts/new/", views.receipt_new, name="stock_receipt_new"),
    path("supplies/", views.supplies, name="stock_supplies"),
    path("supplies/new/", views.supply_new, name="stock_supply_new"),
    path("supplies/<int:supply_id>/receive/", views.supply_receive, name="stock_supply_receive"),
    path("supplies/<int:supply_id>/cancel/", views.supply_cancel, name="stock_supply_cancel"),
    path("corrections/new/", views.correction_new, name="stock_correction_new"),
    path("locations/", views.locations, name="stock_locations"),
    path("locations/<int:location_id>/", views.location_detail, name="stock_location"),
]
