from django.urls import path

from omnia.channels.webchat.consumer import WebchatConsumer
from omnia.console.consumers import ConsoleConsumer

websocket_urlpatterns = [
    path("ws/console/", ConsoleConsumer.as_asgi()),
    path("ws/webchat/<slug:key>/", WebchatConsumer.as_asgi()),
]
