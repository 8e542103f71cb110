from django.urls import path

from omnia.console import canned_views as views

urlpatterns = [
    path("", views.canned_list, name="settings_canned"),
    path("<int:canned_id>/", views.canned_edit, name="settings_canned_edit"),
    path("<int:canned_id>/active/", views.canned_set_active, name="settings_canned_active"),
    path("<int:canned_id>/delete/", views.canned_delete, name="settings_canned_delete"),
]
