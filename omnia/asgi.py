"""ASGI entry point: HTTP through Django (providers' webhook POSTs straight to the channels), WebSockets
through Channels."""

import asyncio
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omnia.settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from omnia.channels import fastpath  # noqa: E402
from omnia.console.routing import websocket_urlpatterns  # noqa: E402
from omnia.core import realtime  # noqa: E402

console_websockets = AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
public_websockets = URLRouter(websocket_urlpatterns)  # the site widget: any origin, no session


async def websockets(scope, receive, send):  # the ASGI signature
    """The web-chat widget runs on the shop's own site, so its socket skips the origin check."""
    app = public_websockets if scope["path"].startswith("/ws/webchat/") else console_websockets
    return await app(scope, receive, send)


router = ProtocolTypeRouter({"http": django_asgi_app, "websocket": websockets})


async def application(scope, receive, send):  # the ASGI signature
    """The router, remembering the server's event loop for broadcasts from background threads. A
    provider's webhook POST under deferred ingest skips Django's request cycle (channels.fastpath)."""
    realtime.serve_on(asyncio.get_running_loop())
    hook = fastpath.match(scope)
    if hook is not None:
        return await fastpath.handle(scope, receive, send, *hook)
    return await router(scope, receive, send)
