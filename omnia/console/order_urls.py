from django.urls import path

from omnia.console import order_views as views

urlpatterns = [
    path("", views.order_list, name="orders"),
    path("<int:pk>/", views.order_detail, name="order_detail"),
]
