"""The channel settings form: one form per provider, built from that provider's settings.

Each provider's settings are either plain config (shown back when editing) or credentials (stored
encrypted, write-only: never rendered into a page; on edit an empty input keeps the stored value).
The form parses and labels input; omnia.channels.actions validate, change and write the audit log,
and their ValidationFailed lands on the field it names ("credentials.bot_token" → credentials__bot_token).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from omnia.channels import actions as channels_actions
from omnia.channels.models import Channel, Provider
from omnia.core.errors import DomainError

Text = str | Promise
# Providers a person can connect from the console: each has its settings below and is either
# received by webhook (WEBHOOK_PROVIDERS), embedded on a site (web chat) or polled (e-mail).
CONNECTABLE = (Provider.WEBCHAT, Provider.TELEGRAM, Provider.WHATSAPP, Provider.INSTAGRAM, Provider.EMAIL, Provider.SMS)
WEBHOOK_PROVIDERS = frozenset({Provider.TELEGRAM, Provider.WHATSAPP, Provider.INSTAGRAM, Provider.SMS})
POLLED_PROVIDERS = frozenset({Provider.EMAIL})
# Chats expect an answer within a minute; letters within the hour.
DEFAULT_FIRST_RESPONSE_MINUTES: dict[str, int] = {Provider.EMAIL: 60}
MAX_FIRST_RESPONSE_MINUTES = 60 * 24 * 30
PORT_RANGE = (1, 65535)
TLS_CHOICES = [
    ("", _("Automatic: SSL/TLS on the standard SSL port, STARTTLS on any other")),
    ("ssl", _("SSL/TLS")),
    ("starttls", _("STARTTLS")),
    ("none", _("None: the password travels unencrypted")),
]


@dataclass(frozen=True)
class Setting:
    """One thing a provider needs: stored in the channel's config, or (secret) in its credentials."""

    key: str
    label: Text
    secret: bool = False
    required: bool = False
    kind: str = "text"  # text, password, textarea, port, email, url, choice
    help: Text = ""
    placeholder: str = ""
    choices: tuple[tuple[str, Text], ...] = ()
    pattern: str = ""
    pattern_message: Text = ""

    @property
    def field_name(self) -> str:
        return f"{'credentials' if self.secret else 'config'}__{self.key}"


_META_SECRETS = (
    Setting(
        "app_secret",
        _("App secret"),
        secret=True,
        required=True,
        kind="password",
        help=_("Meta App Dashboard → App settings → Basic. Every webhook is signed with it."),
    ),
    Setting(
        "verify_token",
        _("Verify token"),
        secret=True,
        required=True,
        kind="password",
        help=_("Any phrase you choose; type the same one as the verify token next to the callback URL at Meta."),
    ),
)

SETTINGS: dict[str, tuple[Setting, ...]] = {
    Provider.WEBCHAT: (
        Setting(
            "site_url",
            _("Site address"),
            required=True,
            kind="url",
            placeholder="https://shop.example",
            help=_("The site the chat goes on."),
        ),
        Setting(
            "greeting",
            _("Greeting"),
            kind="textarea",
            help=_("The first message a visitor sees in the chat. Empty: no greeting."),
        ),
    ),
    Provider.TELEGRAM: (
        Setting("bot_username", _("Bot username"), placeholder="shop_bot", help=_("For your reference.")),
        Setting(
            "bot_token",
            _("Bot token"),
            secret=True,
            required=True,
            kind="password",
            placeholder="123456789:AA…",
            help=_("@BotFather gives it when the bot is created (/token shows it again)."),
        ),
        Setting(
            "secret_token",
            _("Webhook secret token"),
            secret=True,
            required=True,
            kind="password",
            help=_("A phrase you make up; pass the same value as secret_token to setWebhook."),
            pattern=r"^[A-Za-z0-9_-]{1,256}$",
            pattern_message=_("Telegram takes 1 to 256 characters: letters A–Z and a–z, digits, _ and -."),
        ),
    ),
    Provider.WHATSAPP: (
        Setting(
            "phone_number_id",
            _("Phone number ID"),
            required=True,
            help=_("WhatsApp → API setup at Meta: the number's ID, not the phone number itself."),
        ),
        Setting("waba_id", _("WhatsApp Business Account ID")),
        Setting(
            "display_phone_number",
            _("Phone number"),
            placeholder="+7 727 000 00 00",
            help=_("The number customers see, for your reference."),
        ),
        Setting(
            "access_token",
            _("Access token"),
            secret=True,
            required=True,
            kind="password",
            help=_("A permanent system-user token from Meta Business settings."),
        ),
        *_META_SECRETS,
    ),
    Provider.INSTAGRAM: (
        Setting(
            "ig_user_id",
            _("Instagram account ID"),
            help=_("The account replies are sent from. Empty: the account the access token belongs to."),
        ),
        Setting("username", _("Account name"), placeholder="shop.kz", help=_("For your reference.")),
        Setting(
            "access_token",
            _("Access token"),
            secret=True,
            required=True,
            kind="password",
            help=_("Long-lived Instagram tokens expire after 60 days: replace it here in time."),
        ),
        *_META_SECRETS,
    ),
    Provider.EMAIL: (
        Setting(
            "address",
            _("Mailbox address"),
            required=True,
            kind="email",
            placeholder="shop@example.kz",
            help=_("Customers write here; replies are sent from it."),
        ),
        Setting("from_name", _("Sender name"), help=_("The name replies are signed with. Empty: the address.")),
        Setting("imap_host", _("IMAP server"), required=True, placeholder="imap.example.kz"),
        Setting("imap_port", _("IMAP port"), kind="port", placeholder="993"),
        Setting("imap_tls", _("IMAP encryption"), kind="choice", choices=tuple(TLS_CHOICES)),
        Setting("folder", _("Folder"), placeholder="INBOX", help=_("The folder read for new letters. Empty: INBOX.")),
        Setting("smtp_host", _("SMTP server"), required=True, placeholder="smtp.example.kz"),
        Setting("smtp_port", _("SMTP port"), kind="port", placeholder="465"),
        Setting("smtp_tls", _("SMTP encryption"), kind="choice", choices=tuple(TLS_CHOICES)),
        Setting(
            "username",
            _("Login"),
            secret=True,
            required=True,
            help=_("Usually the mailbox address. Stored with the password and, like it, not shown again."),
        ),
        Setting("password", _("Password"), secret=True, required=True, kind="password"),
    ),
    Provider.SMS: (
        Setting(
            "account_sid",
            _("Account SID"),
            required=True,
            placeholder="AC…",
            help=_("Twilio Console → Account info."),
            pattern=r"^AC[0-9a-fA-F]{32}$",
            pattern_message=_("An Account SID is AC followed by 32 letters a–f and digits."),
        ),
        Setting(
            "phone_number",
            _("Number or sender ID"),
            required=True,
            placeholder="+77170000001",
            help=_(
                "The number customers text, in international format; replies are sent from it. "
                "A registered alphanumeric sender ID sends but cannot receive replies."
            ),
            pattern=r"^(\+[1-9][0-9]{6,14}|[A-Za-z0-9][A-Za-z0-9 ]{0,10})$",
            pattern_message=_("A number such as +77170000001, or a sender ID of up to 11 letters and digits."),
        ),
        Setting(
            "messaging_service_sid",
            _("Messaging Service SID"),
            placeholder="MG…",
            help=_("Optional: replies go through this Messaging Service (its senders and settings) instead."),
            pattern=r"^MG[0-9a-fA-F]{32}$",
            pattern_message=_("A Messaging Service SID is MG followed by 32 letters a–f and digits."),
        ),
        Setting(
            "status_callback_url",
            _("Delivery reports address"),
            kind="url",
            help=_(
                "Paste this channel's webhook URL here once it is connected (it is shown on its card): "
                "Twilio then reports whether each SMS was delivered. Empty: replies show as sent only."
            ),
        ),
        Setting(
            "auth_token",
            _("Auth token"),
            secret=True,
            required=True,
            kind="password",
            help=_("Twilio Console → Account info. Every webhook Twilio sends is signed with it."),
        ),
    ),
}

PROVIDER_SUMMARIES: dict[str, Text] = {
    Provider.WEBCHAT: _("A chat window on your site: paste one line of code into its pages."),
    Provider.TELEGRAM: _("A bot made with @BotFather: its token and a webhook secret token."),
    Provider.WHATSAPP: _("WhatsApp Business Cloud API: phone number ID, access token, app secret and verify token."),
    Provider.INSTAGRAM: _("Instagram Direct through Meta: access token, app secret and verify token."),
    Provider.EMAIL: _("A mailbox read over IMAP and answered over SMTP: servers, login and password."),
    Provider.SMS: _("SMS through Twilio (or a Twilio-compatible gateway): Account SID, auth token and the number."),
}

# Messages shown in the user's language instead of the actions' English text, by error code or field.
ERROR_MESSAGES_BY_CODE: dict[str, Text] = {
    "CREDENTIALS_MISSING": _("This provider needs it to receive and send messages."),
    "CONFIG_MISSING": _("This provider needs it to receive and send messages."),
    "PROVIDER_UNKNOWN": _("This provider cannot be connected."),
    "CREDENTIALS_UNREADABLE": _(
        "The stored secrets of this channel cannot be read: they were saved with another OMNIA_SECRET_KEY. "
        "Restore that key, or enter all of its secrets again."
    ),
}
ERROR_MESSAGES_BY_FIELD: dict[str, tuple[Text, int]] = {
    "name": (_("Name the channel in at most %(max)s characters."), channels_actions.MAX_NAME_LENGTH),
    "team": (_("A team name has at most %(max)s characters."), channels_actions.MAX_TEAM_LENGTH),
    "first_response_minutes": (
        _("The first response target is 1 minute to 30 days (%(max)s minutes)."),
        MAX_FIRST_RESPONSE_MINUTES,
    ),
}


def error_message(exc: DomainError) -> str:
    """The user-facing text of an action's error, in the user's language when it is a known one."""
    if exc.code in ERROR_MESSAGES_BY_CODE:
        return str(ERROR_MESSAGES_BY_CODE[exc.code])
    if exc.field in ERROR_MESSAGES_BY_FIELD:
        template, limit = ERROR_MESSAGES_BY_FIELD[exc.field]
        return str(template) % {"max": limit}
    return exc.message


def settings_of(provider: str) -> tuple[Setting, ...]:
    return SETTINGS.get(provider, ())


def label_of(provider: str, key: str) -> str:
    """The human name of a provider's setting or credential; the key itself when unknown."""
    for setting in settings_of(provider):
        if setting.key == key:
            return str(setting.label)
    return key


def in_order(provider: str, keys: Iterable[str]) -> list[str]:
    """`keys` in the order the provider's form asks for them; keys it does not know come last."""
    order = {setting.key: n for n, setting in enumerate(settings_of(provider))}
    return sorted(keys, key=lambda key: (order.get(key, len(order)), key))


def missing_settings(provider: str, *, config: dict[str, Any], stored_credentials: Iterable[str]) -> list[str]:
    """Keys of what the channel still lacks: the actions' required credentials and settings, plus
    what this page asks for (an e-mail channel without a password cannot be polled)."""
    stored = set(stored_credentials)
    missing = [key for key in channels_actions.REQUIRED_CREDENTIALS.get(provider, ()) if key not in stored]
    missing += [key for key in channels_actions.REQUIRED_CONFIG.get(provider, ()) if not filled(config.get(key))]
    for setting in settings_of(provider):
        present = setting.key in stored if setting.secret else filled(config.get(setting.key))
        if setting.required and not present:
            missing.append(setting.key)
    return in_order(provider, set(missing))


def default_first_response_minutes(provider: str) -> int:
    return DEFAULT_FIRST_RESPONSE_MINUTES.get(provider, 1)


def filled(value: Any) -> bool:
    """Whether a setting has a value (not None, not blank)."""
    return value is not None and str(value).strip() != ""


class WriteOnlyTextInput(forms.TextInput):
    """A visible input for a credential (a mailbox login): like a password input, never filled in."""

    def format_value(self, value: Any) -> str | None:
        return None


def _form_field(setting: Setting, *, required: bool) -> forms.Field:
    common: dict[str, Any] = {"label": setting.label, "required": required, "help_text": setting.help}
    attrs: dict[str, Any] = {"placeholder": setting.placeholder} if setting.placeholder else {}
    field: forms.Field
    if setting.kind == "password" or setting.secret:
        # Never rendered back (render_value=False); "new-password" keeps browsers from filling in
        # the console user's own saved password.
        attrs.update({"spellcheck": "false", "data-1p-ignore": "", "data-lpignore": "true"})
        widget: forms.Widget
        if setting.kind == "password":
            widget = forms.PasswordInput(attrs={**attrs, "autocomplete": "new-password"}, render_value=False)
        else:
            widget = WriteOnlyTextInput(attrs={**attrs, "autocomplete": "off"})
        field = forms.CharField(widget=widget, strip=True, **common)
    elif setting.kind == "port":
        low, high = PORT_RANGE
        field = forms.IntegerField(min_value=low, max_value=high, widget=forms.NumberInput(attrs=attrs), **common)
    elif setting.kind == "email":
        field = forms.EmailField(widget=forms.EmailInput(attrs=attrs), **common)
    elif setting.kind == "url":
        field = forms.URLField(widget=forms.URLInput(attrs=attrs), assume_scheme="https", **common)
    elif setting.kind == "choice":
        field = forms.ChoiceField(choices=setting.choices, **common)
    elif setting.kind == "textarea":
        field = forms.CharField(widget=forms.Textarea(attrs={**attrs, "rows": 3}), **common)
    else:
        field = forms.CharField(widget=forms.TextInput(attrs=attrs), **common)
    if setting.pattern:
        field.validators.append(RegexValidator(setting.pattern, message=str(setting.pattern_message)))
    return field


@dataclass(frozen=True)
class SettingRow:
    """A provider field as the template shows it: a secret says whether a value is stored."""

    field: forms.BoundField
    setting: Setting
    stored: bool


class ChannelForm(forms.Form):
    """Connect (channel=None) or change a channel of `provider`. `stored` names the credentials
    already saved: on edit those may be left empty (the stored value stays)."""

    name = forms.CharField(
        label=_("Name"),
        widget=forms.TextInput(attrs={"maxlength": channels_actions.MAX_NAME_LENGTH}),
        help_text=_("How operators see the channel in the inbox, e.g. the bot's or the number's name."),
    )
    team = forms.CharField(
        label=_("Team"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": channels_actions.MAX_TEAM_LENGTH, "list": "channel-teams"}),
        help_text=_(
            "New conversations from this channel belong to this team and go to its operators. Empty: any operator."
        ),
    )
    reply_policy = forms.ChoiceField(
        label=_("When a customer writes again after the conversation was resolved"),
        choices=Channel.ReplyPolicy.choices,
        initial=Channel.ReplyPolicy.NEW_AFTER_RESOLVE,
    )
    first_response_minutes = forms.IntegerField(
        label=_("First response target, minutes"),
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_FIRST_RESPONSE_MINUTES}),
        help_text=_("A conversation waiting longer than this without an answer is marked overdue in the inbox."),
    )

    def __init__(
        self,
        data: Any = None,
        *,
        provider: str,
        channel: Channel | None = None,
        stored: Iterable[str] = (),
    ) -> None:
        self.provider = provider
        self.channel = channel
        self.stored = frozenset(stored)
        initial: dict[str, Any]
        if channel is None:
            initial = {"first_response_minutes": default_first_response_minutes(provider)}
        else:
            initial = {
                "name": channel.name,
                "team": channel.team,
                "reply_policy": channel.reply_policy,
                "first_response_minutes": channel.first_response_minutes,
            }
            config = channel.config or {}
            for setting in settings_of(provider):
                if not setting.secret and setting.key in config:
                    initial[setting.field_name] = config[setting.key]
        super().__init__(data, initial=initial)
        for setting in settings_of(provider):
            keeps_stored = setting.secret and setting.key in self.stored
            self.fields[setting.field_name] = _form_field(setting, required=setting.required and not keeps_stored)

    @property
    def provider_label(self) -> str:
        return str(Provider(self.provider).label) if self.provider in Provider.values else self.provider

    def _rows(self, *, secret: bool) -> list[SettingRow]:
        return [
            SettingRow(field=self[s.field_name], setting=s, stored=s.key in self.stored)
            for s in settings_of(self.provider)
            if s.secret == secret
        ]

    @property
    def config_rows(self) -> list[SettingRow]:
        return self._rows(secret=False)

    @property
    def secret_rows(self) -> list[SettingRow]:
        return self._rows(secret=True)

    @property
    def typed_secrets(self) -> bool:
        """Whether the person typed any secret: after an error they must type it again."""
        return any(self.data.get(row.setting.field_name) for row in self.secret_rows)

    # --- what the actions get -------------------------------------------------------------------

    def plain_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "team": data.get("team") or "",
            "reply_policy": data["reply_policy"],
            "first_response_minutes": data["first_response_minutes"],
        }

    def config(self) -> dict[str, Any]:
        """The channel's settings: on edit the stored ones (keys this page does not know stay),
        with this page's fields set, or removed when left empty."""
        config = dict(self.channel.config or {}) if self.channel is not None else {}
        for setting in settings_of(self.provider):
            if setting.secret:
                continue
            value = self.cleaned_data.get(setting.field_name)
            if filled(value):
                config[setting.key] = value
            else:
                config.pop(setting.key, None)
        return config

    def credentials(self) -> dict[str, Any]:
        """The secrets typed in; an empty input is left out (on edit: the stored value stays)."""
        return {
            setting.key: self.cleaned_data[setting.field_name]
            for setting in settings_of(self.provider)
            if setting.secret and filled(self.cleaned_data.get(setting.field_name))
        }

    def has_provider_settings(self) -> bool:
        return bool(settings_of(self.provider))

    def add_domain_error(self, exc: DomainError) -> None:
        """Show the action's error next to the field it names, in the user's language."""
        name = (exc.field or "").replace(".", "__")
        field = name if name in self.fields else None
        self.add_error(field, error_message(exc))
