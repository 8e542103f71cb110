from django.urls import path

from omnia.console import order_views as views

urlpatterns = [
    path("", views.order_list, name="orders"),
    path("views/", views.order_view_save, name="order_view_save"),
    path("views/<int:view_id>/delete/", views.order_view_delete, name="order_view_delete"),
    path("<int:pk>/", views.order_detail, name="order_detail"),
    path("<int:pk>/transition/", views.order_transition, name="order_transition"),
    path("<int:pk>/payments/", views.order_payment_add, name="order_payment_add"),
    path("<int:pk>/payments/<int:payment_id>/status/", views.order_payment_status, name="order_payment_status"),
    path("<int:pk>/not-duplicate/", views.order_not_duplicate, name="order_not_duplicate"),
    path("<int:pk>/return/", views.order_return, name="order_return"),
    path("<int:pk>/shipments/<int:shipment_id>/move/", views.order_shipment_move, name="order_shipment_move"),
]
