"""Notification templates over REST: the text in effect per event, channel and language (the shop's own or
the built-in one), saving and deleting the shop's own, a preview with sample data, and the variables.

Owners and managers (`settings:read` / `settings:write`). A text with a variable its event does not allow
is refused with 422 UNKNOWN_VARIABLE naming it; an SMS text over 10 parts with 422 TOO_LONG; an approved
WhatsApp template with not one value per placeholder with 422 TEMPLATE_VALUES.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from omnia.channels.models import MessageTemplate
from omnia.core.permissions import Section, actor_of, authorize
from omnia.notifications import actions_templates, composing, queries_templates, variables
from omnia.notifications.models import Event
from omnia.notifications.queries_templates import clean_key
from omnia.notifications.schemas_templates import PreviewIn, PreviewOut, TemplateIn, TemplateOut, VariableOut

router = Router(tags=["notifications"])

KEY_DOC = (
    "`event` is one of order_confirmed, ready_for_pickup, shipped, at_pickup_point, delivered, delayed, "
    "payment_received, back_in_stock, reply_waiting; `language` ru, kk or en; `channel` a channel kind "
    "(sms, whatsapp, telegram, email…) or empty for every channel."
)


@router.get(
    "/notifications/templates",
    response=list[TemplateOut],
    summary="Notification texts in effect, per event and language",
    description=(
        "For every event and language the text for every channel (`is_custom` false: the built-in one, shown "
        "with its variables), then the shop's texts for one channel. Filter with `event` and `language`."
    ),
)
def list_templates(request: HttpRequest, event: str = "", language: str = "") -> list[TemplateOut]:
    authorize(actor_of(request), Section.SETTINGS)
    if event or language:
        clean_key(event or Event.ORDER_CONFIRMED, "", language or "ru")
    found = queries_templates.effective_list(event=event.strip().lower(), language=language.strip().lower())
    return [TemplateOut.of(e) for e in found]


@router.get(
    "/notifications/templates/{event}/{language}",
    response=TemplateOut,
    summary="The text in effect for one event, language and channel",
    description=KEY_DOC + " Without a text of the shop's own the built-in one is answered (`is_custom` false).",
)
def get_template(request: HttpRequest, event: str, language: str, channel: str = "") -> TemplateOut:
    authorize(actor_of(request), Section.SETTINGS)
    return TemplateOut.of(queries_templates.effective(event, channel, language))


@router.put(
    "/notifications/templates/{event}/{language}",
    response=TemplateOut,
    summary="Save the shop's own text (owners and managers)",
    description=(
        KEY_DOC + " Creates or replaces it. `body` at most 4,096 characters; its {{variables}} (and the "
        "subject's and WhatsApp values') must be on the event's list (GET /notifications/variables?event=), "
        "else 422 UNKNOWN_VARIABLE naming it. For sms at most 10 parts with the sample data (422 TOO_LONG). "
        "`whatsapp_template_id`: an approved template of a WhatsApp channel, active, in the same language, "
        "with one `whatsapp_values` entry per {{n}} (422 TEMPLATE_VALUES)."
    ),
)
def put_template(
    request: HttpRequest, event: str, language: str, payload: TemplateIn, channel: str = ""
) -> TemplateOut:
    actor = actor_of(request)
    authorize(actor, Section.SETTINGS, write=True)
    actions_templates.check_save_template(
        actor=actor,
        event=event,
        channel=channel,
        language=language,
        subject=payload.subject,
        body=payload.body,
        whatsapp_template=payload.whatsapp_template_id,
        whatsapp_values=payload.whatsapp_values,
        is_active=payload.is_active,
    )
    return TemplateOut.of(queries_templates.effective(event, channel, language))


@router.delete(
    "/notifications/templates/{event}/{language}",
    response={204: None},
    summary="Delete the shop's own text: the built-in one applies again",
    description=KEY_DOC + " 404 TEMPLATE_NOT_FOUND when the shop has none for this key.",
)
def delete_template(request: HttpRequest, event: str, language: str, channel: str = "") -> Status[None]:
    actor = actor_of(request)
    authorize(actor, Section.SETTINGS, write=True)
    template = queries_templates.get_template(event, channel, language)
    actions_templates.do_delete_template(actor=actor, template=template)
    return Status(204, None)


@router.post(
    "/notifications/templates/preview",
    response=PreviewOut,
    summary="A text filled in with sample data",
    description=(
        "`body` (or, without one, the text in effect) rendered for a sample customer and order; variables the "
        "event does not allow stay as written and are listed in `unknown`. For sms: its encoding and parts."
    ),
)
def preview_template(request: HttpRequest, payload: PreviewIn) -> PreviewOut:
    authorize(actor_of(request), Section.SETTINGS)
    key = clean_key(payload.event, payload.channel, payload.language)
    approved = None
    if payload.whatsapp_template_id is not None:
        approved = MessageTemplate.objects.filter(pk=payload.whatsapp_template_id).first()
        if approved is None:
            raise actions_templates.MessageTemplateNotFound(
                f"No approved template #{payload.whatsapp_template_id}.", field="whatsapp_template_id"
            )
    shown = composing.preview(
        key.event,
        key.channel,
        key.language,
        body=payload.body,
        subject=payload.subject,
        whatsapp_template=approved,
        whatsapp_values=payload.whatsapp_values,
    )
    return PreviewOut.of(shown)


@router.get(
    "/notifications/variables",
    response=list[VariableOut],
    summary="The {{variables}} notification texts may use",
    description="With `event`, only those its texts may use; else every variable with its events.",
)
def list_variables(request: HttpRequest, event: str = "") -> list[VariableOut]:
    authorize(actor_of(request), Section.SETTINGS)
    if event:
        clean_key(event, "", "ru")
    names = variables.allowed(event) if event else tuple(variables.LABELS)
    return [
        VariableOut(
            name=name,
            label=str(variables.LABELS[name]),
            events=[ev for ev in Event.values if name in variables.allowed(ev)],
        )
        for name in names
    ]
