from django.contrib import admin
from django.urls import include, path

from omnia.api import api
from omnia.console.views import healthz

admin.site.site_header = "Omnia"
admin.site.site_title = "Omnia"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("omnia.console.urls")),
]
