from django.urls import path

from omnia.console import notification_views as views

# Mounted at notifications/: the logs the order page and the customer card load, and a resend.
urlpatterns = [
    path("orders/<int:order_id>/", views.order_log, name="notifications_order_log"),
    path("customers/<int:customer_id>/", views.customer_log, name="notifications_customer_log"),
    path("<int:notification_id>/resend/", views.resend, name="notifications_resend"),
]

# Mounted at settings/notifications/; the name starts with "settings" so the Settings item is lit.
settings_urlpatterns = [
    path("", views.rules, name="settings_notifications"),
]
