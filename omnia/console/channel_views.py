"""Settings → Channels: connect a provider's account, see what to paste at the provider, change it,
switch it off and on again.

Owners and managers only (Section.SETTINGS). Thin: channel_forms parses the input; every change goes
through omnia.channels.actions, which validate it and write the audit log. Secrets are write-only:
pages name the credentials stored, never their values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from omnia.channels import actions as channels_actions
from omnia.channels import queries as channels_queries
from omnia.channels.models import Channel, Provider
from omnia.channels.schemas import ChannelOut
from omnia.console import channel_forms as forms
from omnia.console.views import section_required
from omnia.core import permissions
from omnia.core.errors import DomainError
from omnia.core.permissions import Section

EMAIL_POLL_SECONDS = 30


@dataclass(frozen=True)
class ChannelCard:
    """One channel as the list shows it: its settings, what it lacks and how to hook it up."""

    channel: Channel
    provider_label: str
    credentials_stored: list[str]
    missing: list[str]
    readable: bool
    settings: list[tuple[str, str]]
    webhook_url: str = ""
    snippet: str = ""
    polled_every: int = 0
    mailbox: Any = None


def _htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _settings_tabs(request: HttpRequest) -> dict[str, Any]:
    return {
        "tab": "channels",
        "can_users": permissions.can(request.user, Section.USERS),  # type: ignore[arg-type]
        "can_audit": permissions.can(request.user, Section.AUDIT),  # type: ignore[arg-type]
    }


def _channel(channel_id: int) -> Channel:
    channel = channels_queries.list_channels().filter(pk=channel_id).first()
    if channel is None:
        raise Http404(gettext("No such channel."))
    return channel


def _provider_label(provider: str) -> str:
    return str(Provider(provider).label) if provider in Provider.values else provider


def webhook_url(request: HttpRequest, channel: Channel) -> str:
    """Where the provider posts: absolute, from the address the console was opened with."""
    return request.build_absolute_uri(reverse("webhook", kwargs={"provider": channel.provider, "key": channel.key}))


def webchat_snippet(request: HttpRequest, channel: Channel) -> str:
    """The line a site owner pastes into their pages (widget.js reads data-channel)."""
    src = request.build_absolute_uri(reverse("webchat-widget-js"))
    return f'<script src="{src}" data-channel="{channel.key}" async></script>'


def describe(request: HttpRequest, channel: Channel) -> ChannelCard:
    out = ChannelOut.of(channel)
    provider = channel.provider
    config = channel.config or {}
    settings = [
        (str(s.label), str(config[s.key]))
        for s in forms.settings_of(provider)
        if not s.secret and forms.filled(config.get(s.key))
    ]
    missing = forms.missing_settings(provider, config=config, stored_credentials=out.credentials_set)
    card: dict[str, Any] = {
        "channel": channel,
        "provider_label": _provider_label(provider),
        "credentials_stored": [forms.label_of(provider, key) for key in forms.in_order(provider, out.credentials_set)],
        "missing": [forms.label_of(provider, key) for key in missing],
        "readable": out.credentials_readable,
        "settings": settings,
    }
    if provider in forms.WEBHOOK_PROVIDERS:
        card["webhook_url"] = webhook_url(request, channel)
    elif provider == Provider.WEBCHAT:
        card["snippet"] = webchat_snippet(request, channel)
    elif provider in forms.POLLED_PROVIDERS:
        card["polled_every"] = EMAIL_POLL_SECONDS
        card["mailbox"] = {"last_polled_at": out.last_polled_at, "last_error": out.last_error}
    return ChannelCard(**card)


def _teams() -> list[str]:
    teams = channels_queries.list_channels().exclude(team="").values_list("team", flat=True)
    return sorted(set(teams))


@section_required(Section.SETTINGS)
def channel_list(request: HttpRequest) -> HttpResponse:
    channels = channels_queries.list_channels().select_related("mailbox_state")
    cards = [describe(request, c) for c in channels]
    return render(
        request,
        "console/settings_channels.html",
        {"cards": cards, "https": request.is_secure(), **_settings_tabs(request)},
    )


@section_required(Section.SETTINGS)
def channel_new(request: HttpRequest) -> HttpResponse:
    providers = [
        {"value": p.value, "label": p.label, "summary": forms.PROVIDER_SUMMARIES.get(p, "")} for p in forms.CONNECTABLE
    ]
    return render(request, "console/settings_channels_new.html", {"providers": providers, **_settings_tabs(request)})


def _render_form(request: HttpRequest, form: forms.ChannelForm, *, status: int = 200) -> HttpResponse:
    context = {"form": form, "channel": form.channel, "teams": _teams(), **_settings_tabs(request)}
    return render(request, "console/settings_channels_form.html", context, status=status)


@section_required(Section.SETTINGS)
def channel_create(request: HttpRequest, provider: str) -> HttpResponse:
    if provider not in forms.CONNECTABLE:
        raise Http404(gettext("This provider cannot be connected here."))
    form = forms.ChannelForm(request.POST or None, provider=provider)
    if request.method == "POST":
        if form.is_valid():
            try:
                channel = channels_actions.check_create_channel(
                    actor=request.user,
                    provider=provider,
                    credentials=form.credentials(),
                    config=form.config(),
                    **form.plain_fields(),
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                messages.success(request, _connected_message(channel))
                return redirect(f"{reverse('console:settings_channels')}#channel-{channel.pk}")
        return _render_form(request, form, status=422)
    return _render_form(request, form)


def _connected_message(channel: Channel) -> str:
    if channel.provider in forms.WEBHOOK_PROVIDERS:
        return gettext("%(name)s is connected. Now paste its webhook URL at %(provider)s.") % {
            "name": channel.name,
            "provider": channel.get_provider_display(),
        }
    if channel.provider == Provider.WEBCHAT:
        return gettext("%(name)s is connected. Now paste its code into your site's pages.") % {"name": channel.name}
    return gettext("%(name)s is connected.") % {"name": channel.name}


@section_required(Section.SETTINGS)
def channel_edit(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel(channel_id)
    out = ChannelOut.of(channel)
    form = forms.ChannelForm(
        request.POST or None, provider=channel.provider, channel=channel, stored=out.credentials_set
    )
    if request.method == "POST":
        if form.is_valid():
            changes = form.plain_fields()
            if form.has_provider_settings():
                changes["config"] = form.config()  # providers this page knows nothing about keep theirs
            try:
                channel = channels_actions.check_update_channel(
                    actor=request.user, channel=channel, credentials=form.credentials() or None, **changes
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            except ValueError:  # the stored credentials were encrypted with another secret key
                form.add_error(None, _unreadable_message())
            else:
                messages.success(request, gettext("%(name)s is saved.") % {"name": channel.name})
                return redirect(f"{reverse('console:settings_channels')}#channel-{channel.pk}")
        return _render_form(request, form, status=422)
    return _render_form(request, form)


def _unreadable_message() -> str:
    return gettext(
        "The stored secrets of this channel cannot be read: they were saved with another OMNIA_SECRET_KEY. "
        "Restore that key, or enter all of its secrets again."
    )


def _after_switch(request: HttpRequest, channel: Channel, *, text: str, ok: bool = True) -> HttpResponse:
    """From a card of the list (htmx): the card, redrawn in place with `text`. Otherwise `text` as a
    message, back to the edit page (back=edit) or to the channel in the list."""
    if _htmx(request) and request.htmx.target == f"channel-{channel.pk}":  # type: ignore[attr-defined]
        context = {"card": describe(request, channel), "flash": text, "flash_ok": ok}
        return render(request, "console/_channel_card.html", context)
    (messages.success if ok else messages.error)(request, text)
    if request.POST.get("back") == "edit":
        url = reverse("console:settings_channel_edit", args=[channel.pk])
    else:
        url = f"{reverse('console:settings_channels')}#channel-{channel.pk}"
    return HttpResponseClientRedirect(url) if _htmx(request) else redirect(url)


@require_POST
@section_required(Section.SETTINGS)
def channel_deactivate(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = channels_actions.do_deactivate_channel(actor=request.user, channel=_channel(channel_id))
    text = gettext("%(name)s is switched off: nothing is received or sent through it; its conversations stay.")
    return _after_switch(request, channel, text=text % {"name": channel.name})


@require_POST
@section_required(Section.SETTINGS)
def channel_activate(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _channel(channel_id)
    try:
        channel = channels_actions.check_update_channel(actor=request.user, channel=channel, is_active=True)
    except DomainError as exc:
        key = (exc.field or "").partition(".")[2]
        if key:
            text = gettext("%(name)s cannot be switched on: %(setting)s is missing. Fill it in first.") % {
                "name": channel.name,
                "setting": forms.label_of(channel.provider, key),
            }
        else:
            text = forms.error_message(exc)
        return _after_switch(request, channel, text=text, ok=False)
    except ValueError:
        return _after_switch(request, channel, text=_unreadable_message(), ok=False)
    return _after_switch(request, channel, text=gettext("%(name)s is switched on again.") % {"name": channel.name})
