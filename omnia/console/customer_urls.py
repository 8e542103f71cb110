from django.urls import path

from omnia.console import customer_views

urlpatterns = [
    path("", customer_views.customer_list, name="customers"),
]
