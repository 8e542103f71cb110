"""The inbox over REST: conversations, their messages, replies through the outbox, notes and triage.

Reads need the `inbox:read` scope, writes `inbox:write`. Domain errors become the common error
shape in omnia.api (CONVERSATION_NOT_FOUND → 404, REPLY_WINDOW_CLOSED → 409, bad input → 422).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.http import HttpRequest
from ninja import Header, Query, Router, Status

from omnia.conversations import actions, actions_canned, queries, queries_canned
from omnia.conversations.schemas import (
    AssignIn,
    CannedRenderOut,
    CannedResponseIn,
    CannedResponseOut,
    CannedResponsePatchIn,
    ConversationDetailOut,
    ConversationOut,
    LabelsIn,
    MergeIn,
    MessageIn,
    MessageOut,
    MoveIn,
    NoteIn,
    PriorityIn,
    ReplyChannelOut,
    StatusIn,
    priority_value,
)
from omnia.core import clock
from omnia.core.errors import Conflict, ValidationFailed
from omnia.core.pagination import Page, paginate
from omnia.core.permissions import Section, actor_of, authorize
from omnia.customers import queries as customers_queries

router = Router(tags=["inbox"])

ReplyWindowLookup = Callable[[str], queries.ReplyRules]


def _window_not_wired(provider: str) -> queries.ReplyRules:
    raise RuntimeError("omnia.api must wire the reply-window lookup: conversations.api.use_reply_window(…)")


_reply_window_for: ReplyWindowLookup = _window_not_wired


def use_reply_window(lookup: ReplyWindowLookup) -> None:
    """How long after a customer's message a provider allows free text (None: no limit).

    Connectors live in omnia.channels, a layer above this one, so the API root passes the lookup in.
    """
    global _reply_window_for  # set once, when omnia.api mounts this router
    _reply_window_for = lookup


TemplateLookup = Callable[[Any, dict[str, Any]], tuple[dict[str, Any], str]]


def _templates_not_wired(channel: Any, ref: dict[str, Any]) -> tuple[dict[str, Any], str]:
    raise RuntimeError("omnia.api must wire the template lookup: conversations.api.use_template_lookup(…)")


_template_for: TemplateLookup = _templates_not_wired


def use_template_lookup(lookup: TemplateLookup) -> None:
    """How a registered template (`{"id", "values"}`) of a channel becomes what the provider is sent and
    the text the thread shows; channels (a layer above) own the templates, so the API root passes it in."""
    global _template_for  # set once, when omnia.api mounts this router
    _template_for = lookup


def _rules_arguments(payload: MessageIn, conversation: Any, via: Any | None) -> dict[str, Any]:
    """The reply window of the channel the message goes through (none applies to a template)."""
    if payload.template:
        return {}
    rules = _reply_window_for((via or conversation.channel).provider)
    return {
        "window": rules.window,
        "extended_window": rules.extended_window,
        "extended_tag": rules.extended_tag,
        "max_length": rules.max_length,
    }


def _detail(conversation_id: int) -> ConversationDetailOut:
    return ConversationDetailOut.of(queries.get_conversation(conversation_id))


@router.get(
    "/conversations",
    response=Page[ConversationOut],
    summary="The inbox: longest-waiting first, then most recent",
    description=(
        "`status` is open, pending, snoozed, resolved or all; left out, every conversation not resolved. "
        "`channel` is a provider (telegram, whatsapp…), `channel_id` one connected account. "
        "`unassigned=true` wins over `assignee`. Filters combine with AND. "
        "Pages follow the inbox order (waiting first); `next` is keyed on id, so pass it back unchanged."
    ),
)
def list_conversations(
    request: HttpRequest,
    status: Literal["open", "pending", "snoozed", "resolved", "all"] | None = None,
    customer: int | None = None,
    channel: str = "",
    channel_id: int | None = None,
    assignee: int | None = None,
    unassigned: bool = False,
    team: str = "",
    label: str = "",
    cursor: str | None = None,
    limit: int = Query(50),
) -> dict[str, object]:
    authorize(actor_of(request), Section.INBOX)
    filters = queries.ConversationFilters(
        status=status or "",
        customer_id=customer,
        provider=channel,
        channel_id=channel_id,
        assignee_id=assignee,
        unassigned=unassigned,
        team=team,
        label=label.strip().lower(),
    )
    return paginate(queries.list_conversations(filters), cursor=cursor, limit=limit, serialize=ConversationOut.of)


@router.get("/conversations/{conversation_id}", response=ConversationDetailOut, summary="One conversation")
def get_conversation(request: HttpRequest, conversation_id: int) -> ConversationDetailOut:
    authorize(actor_of(request), Section.INBOX)
    return _detail(conversation_id)


@router.get(
    "/conversations/{conversation_id}/reply-channels",
    response=list[ReplyChannelOut],
    summary="The channels a reply may go through: the conversation's own first, then others reaching the customer",
    description=(
        "Send through one with `channel_id` in POST …/messages. A channel the customer withdrew service-message "
        "consent for is listed with allowed=false (sending through it answers 422 NO_CONSENT)."
    ),
)
def list_reply_channels(request: HttpRequest, conversation_id: int) -> list[ReplyChannelOut]:
    authorize(actor_of(request), Section.INBOX)
    conversation = queries.get_conversation(conversation_id)
    now = clock.now()
    options = []
    for option in queries.reply_channels(conversation):
        rules = _reply_window_for(option.channel.provider)
        window_open = queries.reply_window_open(
            conversation, window=rules.extended_window or rules.window, at=now, channel=option.channel
        )
        options.append(
            ReplyChannelOut(
                channel_id=option.channel.pk,
                provider=option.channel.provider,
                name=option.channel.name,
                to=option.to,
                allowed=option.allowed,
                reason=option.reason,
                window_open=window_open,
            )
        )
    return options


@router.get(
    "/conversations/{conversation_id}/messages",
    response=Page[MessageOut],
    summary="Messages, notes and system lines, oldest first",
)
def list_messages(
    request: HttpRequest, conversation_id: int, cursor: str | None = None, limit: int = Query(50)
) -> dict[str, object]:
    authorize(actor_of(request), Section.INBOX)
    conversation = queries.get_conversation(conversation_id)
    return paginate(
        queries.messages_of(conversation), cursor=cursor, limit=limit, serialize=MessageOut.of, newest_first=False
    )


@router.post(
    "/conversations/{conversation_id}/messages",
    response={201: MessageOut},
    summary="Reply through the conversation's channel (queued in the outbox)",
    description=(
        "Answers 201 with the queued message; the delivery task sends it and its `status` follows. "
        "Send an `Idempotency-Key` header to retry safely: the same key answers 201 with the message "
        "queued the first time and queues nothing new (a key already used in another conversation → 409 "
        "IDEMPOTENCY_KEY_REUSED). Outside the channel's reply window (WhatsApp, Instagram: 24 h after the "
        "customer's last message) free text is refused with 409 REPLY_WINDOW_CLOSED: send a `template`, "
        'best one registered for the channel: `{"id": TEMPLATE_ID, "values": ["…"]}` (see '
        "GET /channels/{id}/templates; the thread shows its text with the values filled in)."
    ),
)
def send_message(
    request: HttpRequest,
    conversation_id: int,
    payload: MessageIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status[MessageOut]:
    actor = actor_of(request)
    authorize(actor, Section.INBOX, write=True)
    conversation = queries.get_conversation(conversation_id)
    key = (idempotency_key or "").strip() or None
    if key is not None and len(key) > 100:
        raise ValidationFailed("An Idempotency-Key has at most 100 characters.", field="Idempotency-Key")
    via = queries.get_channel(payload.channel_id) if payload.channel_id is not None else None
    template, text = payload.template, payload.text
    if template is not None and "id" in template:  # a registered template, filled with its values
        template, filled = _template_for(via or conversation.channel, template)
        text = text or filled
    arguments: dict[str, Any] = {
        "actor": actor,
        "conversation": conversation,
        "text": text,
        "template": template,
        "via": via,
        **_rules_arguments(payload, conversation, via),
        "idempotency_key": key,
        "send_after": payload.send_after,
    }
    try:
        message = actions.check_send_message(**arguments)
    except IntegrityError:
        if key is None:
            raise
        # The same key sent twice at once: the other request stored it first; answer with its message.
        message = actions.check_send_message(**arguments)
    if message.conversation_id != conversation.pk:
        raise Conflict(
            "This Idempotency-Key was already used for a message in another conversation.",
            code="IDEMPOTENCY_KEY_REUSED",
            field="Idempotency-Key",
        )
    return Status(201, MessageOut.of(queries.messages_of(conversation).get(pk=message.pk)))


@router.post(
    "/conversations/{conversation_id}/notes",
    response={201: MessageOut},
    summary="A private note for colleagues (never sent to the customer)",
)
def add_note(request: HttpRequest, conversation_id: int, payload: NoteIn) -> Status[MessageOut]:
    actor = actor_of(request)
    authorize(actor, Section.INBOX, write=True)
    conversation = queries.get_conversation(conversation_id)
    note = actions.do_add_note(actor=actor, conversation=conversation, text=payload.text)
    return Status(201, MessageOut.of(queries.messages_of(conversation).get(pk=note.pk)))


@router.post(
    "/conversations/{conversation_id}/assign",
    response=ConversationDetailOut,
    summary="Assign to a person and/or a team",
    description="Fields left out stay as they are; null clears. Only active owners, managers and operators.",
)
def assign(request: HttpRequest, conversation_id: int, payload: AssignIn) -> ConversationDetailOut:
    actor = actor_of(request)
    authorize(actor, Section.INBOX, write=True)
    conversation = queries.get_conversation(conversation_id)
    sent = payload.model_fields_set
    assignee = conversation.assignee
    if "assignee_id" in sent:
        assignee = None
        if payload.assignee_id is not None:
            assignee = get_user_model().objects.filter(pk=payload.assignee_id).first()
            if assignee is None:
                raise ValidationFailed(f"No user #{payload.assignee_id}.", field="assignee_id", code="ASSIGNEE_INVALID")
    team = payload.team if "team" in sent else conversation.team
    try:
        actions.check_assign(actor=actor, conversation=conversation, assignee=assignee, team=team)
    except ValidationFailed as exc:
        if exc.field == "assignee":
            raise ValidationFailed(exc.message, field="assignee_id", code=exc.code) from exc
        raise
    return _detail(conversation_id)


@router.post(
    "/conversations/{conversation_id}/status",
    response=ConversationDetailOut,
    summary="Open, pending, snoozed (until a future time) or resolved",
)
def set_status(request: HttpRequest, conversation_id: int, payload: StatusIn) -> ConversationDetailOut:
    actor = actor_of(request)
    authorize(actor, Section.INBOX, write=True)
    actions.check_set_status(
        actor=actor,
        conversation=queries.get_conversation(conversation_id),
        status=payload.status,
        snoozed_until=payload.snoozed_until,
    )
    return _detail(conversation_id)


@router.post("/conversations/{conversation_id}/labels", response=ConversationDetailOut, summary="Replace the labels")
def set_labels(request: HttpRequest, conversation_id: int, payload: LabelsIn) -> ConversationDetailOut:
    actor = actor_of(request)
    authorize(actor, Section.INBOX, write=True)
    actions.do_set_labels(actor=actor, conversation=queries.get_conversation(conversation_id), labels=payload.labels)
    return _detail(conversation_id)


@router.post(
    "/conversations/{conversation_id}/priority",
    response=ConversationDetailOut,
    summary="low, normal, high or urgent",
)
def set_priority(request: HttpRequest, conversation_id: int, payload: PriorityIn) -> ConversationDetailOut:
    actor = actor_of(request)
    authorize(actor, Section.INBOX, write=True)
    actions.do_set_priority(
        actor=actor,
        conversation=queries.get_conversation(conversation_id),
        priority=priority_value(payload.priority),
    )
    return _detail(conversation_id)


@router.post(
    "/conversations/{conversation_id}/move",
    response=ConversationDetailOut,
    summary="Give the conversation to another customer card",
)
def move_to_customer(request: HttpRequest, conversation_id: int, payload: MoveIn) -> ConversationDetailOut:
    actor = actor_of(request)
    authorize(actor, Section.INBOX, write=True)
    conversation = queries.get_conversation(conversation_id)
    customer = customers_queries.get_customer(payload.customer_id, field="customer_id")
    actions.check_move_to_customer(actor=actor, conversation=conversation, customer=customer)
    return _detail(conversation_id)


@router.post(
    "/conversations/{conversation_id}/merge",
    response=ConversationDetailOut,
    summary="Merge another conversation of the same customer into this one",
    description="The messages of `other_id` move here; that conversation is resolved with a 'merged into' line.",
)
def merge_conversations(request: HttpRequest, conversation_id: int, payload: MergeIn) -> ConversationDetailOut:
    actor = actor_of(request)
    authorize(actor, Section.INBOX, write=True)
    target = queries.get_conversation(conversation_id)
    other = queries.get_conversation(payload.other_id, field="other_id")
    actions.check_merge_conversations(actor=actor, target=target, other=other)
    return _detail(conversation_id)


# --- canned responses -----------------------------------------------------------------------------


@router.get(
    "/canned-responses",
    response=list[CannedResponseOut],
    summary='Canned responses: the composer\'s "/" search',
    description=(
        "`q` matches the start of the shortcut (a leading '/' is ignored) or a part of the title or text. "
        "With `channel` (a provider) or `language` only those for it or for all are listed, the most "
        "specific one per shortcut; shortcut matches first, then the ones for exactly this channel and "
        "language. Inactive ones only with `include_inactive=true`. At most 50."
    ),
)
def list_canned_responses(
    request: HttpRequest, q: str = "", channel: str = "", language: str = "", include_inactive: bool = False
) -> list[CannedResponseOut]:
    authorize(actor_of(request), Section.INBOX)
    found = queries_canned.search_canned(
        q, provider=channel.strip().lower(), language=language.strip().lower(), include_inactive=include_inactive
    )
    return [CannedResponseOut.of(canned) for canned in found]


@router.post(
    "/canned-responses",
    response={201: CannedResponseOut},
    summary="Save a canned response (owners and managers)",
    description=(
        "Variables: {{customer.first_name}}, last_name, full_name, city, loyalty_card; {{order.number}}, "
        "total, status. Any other {{…}} is refused with 422 CANNED_VARIABLE_UNKNOWN; the same shortcut for "
        "the same channel and language with 409 CANNED_SHORTCUT_TAKEN."
    ),
)
def create_canned_response(request: HttpRequest, payload: CannedResponseIn) -> Status[CannedResponseOut]:
    actor = actor_of(request)
    authorize(actor, Section.SETTINGS, write=True)
    canned = actions_canned.check_create_canned(actor=actor, **payload.model_dump())
    return Status(201, CannedResponseOut.of(canned))


@router.patch(
    "/canned-responses/{canned_id}", response=CannedResponseOut, summary="Change the fields sent (owners, managers)"
)
def update_canned_response(request: HttpRequest, canned_id: int, payload: CannedResponsePatchIn) -> CannedResponseOut:
    actor = actor_of(request)
    authorize(actor, Section.SETTINGS, write=True)
    canned = queries_canned.get_canned(canned_id)
    fields = payload.model_dump(exclude_unset=True)
    for name in ("channel", "language"):  # null means "all", like ""
        if name in fields and fields[name] is None:
            fields[name] = ""
    for name, value in fields.items():
        if value is None:
            raise ValidationFailed(f"{name} cannot be null.", field=name)
    return CannedResponseOut.of(actions_canned.check_update_canned(actor=actor, canned=canned, **fields))


@router.delete("/canned-responses/{canned_id}", response={204: None}, summary="Delete (owners and managers)")
def delete_canned_response(request: HttpRequest, canned_id: int) -> Status[None]:
    actor = actor_of(request)
    authorize(actor, Section.SETTINGS, write=True)
    actions_canned.check_delete_canned(actor=actor, canned=queries_canned.get_canned(canned_id))
    return Status(204, None)


@router.post(
    "/conversations/{conversation_id}/canned/{canned_id}/render",
    response=CannedRenderOut,
    summary="A canned response filled in for the conversation's customer",
    description=(
        "Customer variables are filled in; order variables are not supported here yet (orders live in a "
        "layer above the inbox) and stay as written, listed in `missing`. Inactive responses → 404."
    ),
)
def render_canned_response(request: HttpRequest, conversation_id: int, canned_id: int) -> CannedRenderOut:
    authorize(actor_of(request), Section.INBOX)
    conversation = queries.get_conversation(conversation_id)
    canned = queries_canned.get_canned(canned_id, active_only=True)
    return CannedRenderOut(
        text=queries_canned.render_canned(canned.text, customer=conversation.customer),
        missing=queries_canned.missing_variables(canned.text),
    )
