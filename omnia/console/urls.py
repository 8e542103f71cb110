from django.urls import include, path

from omnia.console import delivery_urls, notification_urls, views

app_name = "console"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("account/password/", views.password_change, name="password_change"),
    path("inbox/", include("omnia.console.inbox_urls")),
    path("customers/import/", include("omnia.console.import_urls")),
    path("customers/", include("omnia.console.customer_urls")),
    path("orders/", include("omnia.console.order_urls")),
    path("orders/", include(delivery_urls.order_urlpatterns)),
    path("terminal/", include("omnia.console.terminal_urls")),
    path("stock/", include("omnia.console.stock_urls")),
    path("shipments/", include("omnia.console.shipment_urls")),
    path("notifications/", include(notification_urls.urlpatterns)),
    path("analytics/", views.analytics, name="analytics"),
    path("settings/", views.settings_overview, name="settings"),
    path("settings/users/", views.settings_users, name="settings_users"),
    path("settings/tokens/", views.settings_tokens, name="settings_tokens"),
    path("settings/tokens/<int:token_id>/revoke/", views.revoke_token, name="revoke_token"),
    path("settings/audit/", views.settings_audit, name="settings_audit"),
    path("settings/canned/", include("omnia.console.canned_urls")),
    path("settings/notifications/templates/", include("omnia.console.notification_template_urls")),
    path("settings/notifications/", include(notification_urls.settings_urlpatterns)),
    path("settings/channels/", include("omnia.console.channel_urls")),
    path("settings/webhooks/", include("omnia.console.webhook_urls")),
    path("settings/delivery/", include("omnia.console.delivery_urls")),
]
