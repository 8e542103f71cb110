from django.urls import path

from omnia.console import notification_template_views as views

urlpatterns = [
    path("", views.template_grid, name="settings_notification_templates"),
    path("<slug:event>/<slug:language>/", views.template_edit, name="settings_notification_template"),
    path(
        "<slug:event>/<slug:language>/preview/",
        views.template_preview,
        name="settings_notification_template_preview",
    ),
    path("<slug:event>/<slug:language>/values/", views.template_values, name="settings_notification_template_values"),
    path("<slug:event>/<slug:language>/reset/", views.template_reset, name="settings_notification_template_reset"),
]
