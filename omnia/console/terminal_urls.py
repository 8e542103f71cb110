from django.urls import path

from omnia.console import terminal_views as views

urlpatterns = [
    path("", views.terminal, name="terminal"),
    path("search/", views.terminal_search, name="terminal_search"),
    path("cart/", views.terminal_cart, name="terminal_cart"),
    path("place/", views.terminal_place, name="terminal_place"),
]
