from django.contrib import admin
from django.urls import include, path

from omnia.api import api
from omnia.channels import views as channels_views
from omnia.console.views import healthz
from omnia.fulfillment import views as fulfillment_views
from omnia.inventory import views as inventory_views

admin.site.site_header = "Omnia"
admin.site.site_title = "Omnia"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("hooks/carriers/<slug:key>", fulfillment_views.tracking_webhook, name="carrier_webhook"),
    path("hooks/<slug:provider>/<slug:key>", channels_views.webhook, name="webhook"),
    path("webchat/", include("omnia.channels.webchat.views")),
    path("feeds/kaspi/<str:token>.xml", inventory_views.kaspi_feed, name="kaspi_feed"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("omnia.console.urls")),
]
