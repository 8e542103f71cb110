from django.urls import path

from omnia.console import delivery_views as views

# Mounted at settings/delivery/; names start with "settings" so the Settings navigation item is lit.
urlpatterns = [
    path("", views.delivery_settings, name="settings_delivery"),
    path("carriers/new/", views.carrier_new, name="settings_delivery_carrier_new"),
    path("carriers/<int:carrier_id>/", views.carrier_detail, name="settings_delivery_carrier"),
    path("carriers/<int:carrier_id>/edit/", views.carrier_edit, name="settings_delivery_carrier_edit"),
    path("carriers/<int:carrier_id>/delete/", views.carrier_delete, name="settings_delivery_carrier_delete"),
    path("carriers/<int:carrier_id>/secret/", views.carrier_rotate_secret, name="settings_delivery_carrier_secret"),
    path("carriers/<int:carrier_id>/zones/new/", views.zone_new, name="settings_delivery_zone_new"),
    path("zones/<int:zone_id>/edit/", views.zone_edit, name="settings_delivery_zone_edit"),
    path("zones/<int:zone_id>/delete/", views.zone_delete, name="settings_delivery_zone_delete"),
    path("zones/<int:zone_id>/tariffs/", views.tariff_add, name="settings_delivery_tariff_add"),
    path("tariffs/<int:tariff_id>/edit/", views.tariff_edit, name="settings_delivery_tariff_edit"),
    path("tariffs/<int:tariff_id>/delete/", views.tariff_delete, name="settings_delivery_tariff_delete"),
]

# Mounted at orders/: the order page's Delivery section and its Choose button.
order_urlpatterns = [
    path("<int:pk>/delivery/", views.order_delivery, name="order_delivery"),
    path("<int:pk>/delivery/choose/", views.order_delivery_choose, name="order_delivery_choose"),
]
