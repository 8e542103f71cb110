from django.urls import path

from omnia.console import inbox_views as views
from omnia.console import order_composer_views

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("list/", views.inbox_list, name="inbox_list"),
    path("presence/", views.set_presence, name="inbox_presence"),
    path("attachments/<int:message_id>/<int:index>/", views.attachment, name="inbox_attachment"),
    path("<int:conversation_id>/", views.conversation, name="inbox_conversation"),
    path("<int:conversation_id>/messages/", views.thread_messages, name="inbox_messages"),
    path("<int:conversation_id>/send/", views.send, name="inbox_send"),
    path("<int:conversation_id>/canned/", views.canned_suggestions, name="inbox_canned"),
    path(
        "<int:conversation_id>/scheduled/<int:message_id>/cancel/",
        views.cancel_scheduled,
        name="inbox_cancel_scheduled",
    ),
    path("<int:conversation_id>/assign/", views.assign, name="inbox_assign"),
    path("<int:conversation_id>/status/", views.set_status, name="inbox_status"),
    path("<int:conversation_id>/priority/", views.set_priority, name="inbox_priority"),
    path("<int:conversation_id>/labels/", views.set_labels, name="inbox_labels"),
    path("<int:conversation_id>/order/", order_composer_views.order_panel, name="inbox_order"),
    path("<int:conversation_id>/order/search/", order_composer_views.order_search, name="inbox_order_search"),
    path("<int:conversation_id>/order/cart/", order_composer_views.order_cart, name="inbox_order_cart"),
    path("<int:conversation_id>/order/place/", order_composer_views.order_place, name="inbox_order_place"),
]
