from django.urls import path

from omnia.console import import_views

urlpatterns = [
    path("", import_views.customer_import, name="customer_import"),
    path("<int:job_id>/", import_views.customer_import_detail, name="customer_import_detail"),
    path("<int:job_id>/status/", import_views.customer_import_status, name="customer_import_status"),
    path("<int:job_id>/confirm/", import_views.customer_import_confirm, name="customer_import_confirm"),
    path("<int:job_id>/cancel/", import_views.customer_import_cancel, name="customer_import_cancel"),
]
