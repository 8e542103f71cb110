from django.urls import path

from omnia.console import webhook_views as views

# Mounted at settings/webhooks/; names start with "settings" so the Settings navigation item is lit.
urlpatterns = [
    path("", views.webhook_list, name="settings_webhooks"),
    path("new/", views.webhook_create, name="settings_webhook_new"),
    path("<int:webhook_id>/", views.webhook_detail, name="settings_webhook"),
    path("<int:webhook_id>/edit/", views.webhook_edit, name="settings_webhook_edit"),
    path("<int:webhook_id>/switch/", views.webhook_switch, name="settings_webhook_switch"),
    path("<int:webhook_id>/delete/", views.webhook_delete, name="settings_webhook_delete"),
    path("<int:webhook_id>/secret/reveal/", views.webhook_reveal_secret, name="settings_webhook_reveal"),
    path("<int:webhook_id>/secret/rotate/", views.webhook_rotate_secret, name="settings_webhook_rotate"),
    path("<int:webhook_id>/ping/", views.webhook_ping, name="settings_webhook_ping"),
    path("<int:webhook_id>/deliveries/", views.webhook_deliveries, name="settings_webhook_deliveries"),
    path(
        "<int:webhook_id>/deliveries/<int:delivery_id>/redeliver/",
        views.webhook_redeliver,
        name="settings_webhook_redeliver",
    ),
]
