from django.urls import path

from omnia.console import shipment_views as views

urlpatterns = [
    path("", views.shipment_list, name="shipments"),
    path("rejections/", views.shipment_rejections, name="shipments_rejections"),
    path("<int:shipment_id>/", views.shipment_detail, name="shipments_detail"),
    path("<int:shipment_id>/parcel/", views.shipment_parcel_create, name="shipments_parcel_create"),
    path("<int:shipment_id>/parcel/tracking/", views.shipment_parcel_update, name="shipments_parcel_update"),
    path("<int:shipment_id>/parcel/move/", views.shipment_parcel_move, name="shipments_parcel_move"),
]
