"""Settings → Channels → a WhatsApp channel's approved message templates: register them exactly as Meta
approved them, and retire one that Meta paused or rejected. Owners and managers (Section.SETTINGS)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_POST

from omnia.channels import actions as channels_actions
from omnia.channels import message_templates
from omnia.channels.models import Channel, MessageTemplate
from omnia.console.channel_views import _channel, _settings_tabs
from omnia.console.views import section_required
from omnia.core.errors import DomainError
from omnia.core.permissions import Section


class TemplateForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name at Meta"),
        max_length=512,
        help_text=gettext_lazy("Exactly as approved in WhatsApp Manager, e.g. order_ready."),
    )
    language = forms.CharField(
        label=gettext_lazy("Language code"), max_length=15, help_text=gettext_lazy("ru, kk, en_US…")
    )
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=MessageTemplate.Category.choices)
    body = forms.CharField(
        label=gettext_lazy("Text"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1024,
        help_text=gettext_lazy("The approved text, with {{1}}, {{2}}… where the values go."),
    )


def _whatsapp(channel_id: int) -> Channel:
    channel = _channel(channel_id)
    if channel.provider not in channels_actions.TEMPLATE_PROVIDERS:
        raise Http404(gettext("This channel has no approved templates."))
    return channel


@section_required(Section.SETTINGS)
def template_list(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = _whatsapp(channel_id)
    form = TemplateForm(request.POST or None, initial={"language": "ru"})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                template = channels_actions.check_save_template(
                    actor=request.user, channel=channel, **form.cleaned_data
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, gettext("%(template)s is registered.") % {"template": template})
                return redirect("console:settings_channel_templates", channel_id=channel.pk)
        status = 422
    templates = [
        {"template": t, "values": message_templates.placeholders(t.body)} for t in channel.message_templates.all()
    ]
    return render(
        request,
        "console/settings_message_templates.html",
        {"channel": channel, "form": form, "templates": templates, **_settings_tabs(request)},
        status=status,
    )


@require_POST
@section_required(Section.SETTINGS)
def template_retire(request: HttpRequest, channel_id: int, template_id: int) -> HttpResponse:
    channel = _whatsapp(channel_id)
    template = channel.message_templates.filter(pk=template_id).first()
    if template is None:
        raise Http404(gettext("No such template."))
    channels_actions.do_retire_template(actor=request.user, template=template)
    messages.success(request, gettext("%(template)s is no longer offered.") % {"template": template})
    return redirect(reverse("console:settings_channel_templates", kwargs={"channel_id": channel.pk}))
