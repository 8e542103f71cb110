from django.urls import path

from omnia.console import customer_views as views

urlpatterns = [
    path("", views.customer_list, name="customers"),
    path("new/", views.customer_new, name="customer_new"),
    path("duplicates/", views.customer_duplicates, name="customer_duplicates"),
    path("duplicates/dismiss/", views.dismiss_duplicate, name="customer_dismiss_duplicate"),
    path("merges/<int:merge_id>/undo/", views.undo_merge, name="customer_undo_merge"),
    path("<int:customer_id>/", views.customer_detail, name="customer"),
    path("<int:customer_id>/timeline/", views.customer_timeline, name="customer_timeline"),
    path("<int:customer_id>/edit/", views.customer_edit, name="customer_edit"),
    path("<int:customer_id>/merge/", views.customer_merge, name="customer_merge"),
    path("<int:customer_id>/contacts/", views.add_identity, name="customer_add_identity"),
    path(
        "<int:customer_id>/contacts/<int:identity_id>/remove/", views.remove_identity, name="customer_remove_identity"
    ),
    path("<int:customer_id>/addresses/", views.add_address, name="customer_add_address"),
    path("<int:customer_id>/addresses/<int:address_id>/remove/", views.remove_address, name="customer_remove_address"),
    path("<int:customer_id>/preferences/", views.update_preferences, name="customer_preferences"),
    path("<int:customer_id>/consents/", views.record_consent, name="customer_record_consent"),
    path("<int:customer_id>/notes/", views.add_note, name="customer_add_note"),
]
