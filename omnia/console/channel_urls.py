from django.urls import path

from omnia.console import channel_views as views
from omnia.console import message_template_views as template_views

# Mounted at settings/channels/; names start with "settings" so the Settings navigation item is lit.
urlpatterns = [
    path("", views.channel_list, name="settings_channels"),
    path("new/", views.channel_new, name="settings_channel_new"),
    path("new/<slug:provider>/", views.channel_create, name="settings_channel_create"),
    path("<int:channel_id>/", views.channel_edit, name="settings_channel_edit"),
    path("<int:channel_id>/deactivate/", views.channel_deactivate, name="settings_channel_deactivate"),
    path("<int:channel_id>/activate/", views.channel_activate, name="settings_channel_activate"),
    path("<int:channel_id>/templates/", template_views.template_list, name="settings_channel_templates"),
    path(
        "<int:channel_id>/templates/<int:template_id>/retire/",
        template_views.template_retire,
        name="settings_channel_template_retire",
    ),
]
