"""The marketplace feed URL: /feeds/kaspi/<token>.xml, pulled by Kaspi.kz on its own schedule."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from omnia.inventory import feeds


@require_GET
def kaspi_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = feeds.feed_by_token(token)
    if feed is None or feed.kind != feed.Kind.KASPI:
        raise Http404("No such feed.")
    if feed.built_at is None:
        feed = feeds.do_build(feed)
    response = HttpResponse(feed.content, content_type="application/xml; charset=utf-8")
    if feed.built_at is not None:
        response["Last-Modified"] = feed.built_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return response
