from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from omnia.core import clock
from omnia.core.admin_base import SectionAdmin
from omnia.core.audit import do_record_audit
from omnia.core.permissions import Section
from omnia.orders.models import KaspiAccount, Order, OrderLine, SatuAccount, SatuOrder


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ("variant", "quantity", "unit_price", "discount", "location")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(SectionAdmin):
    """Read-only: order status moves through the status machine, which audits every change."""

    section = Section.ORDERS
    read_only = True
    list_display = ["number", "placed_at", "source", "status", "customer", "location", "total", "currency"]
    list_filter = ["source", "status", "location"]
    search_fields = ["number", "external_id"]
    date_hierarchy = "placed_at"
    list_select_related = ["customer", "location"]
    inlines = [OrderLineInline]


class KaspiAccountForm(forms.ModelForm):
    """The API token is write-only: typed in, stored encrypted, never shown; left empty it stays."""

    api_token = forms.CharField(
        label=_("API token (X-Auth-Token)"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("From the Kaspi seller cabinet: Settings → API token. Leave empty to keep the stored one."),
    )

    class Meta:
        model = KaspiAccount
        fields = ["name", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.instance.pk and not (data.get("api_token") or "").strip():
            self.add_error("api_token", _("Enter the API token to connect the account."))
        return data

    def save(self, commit: bool = True) -> KaspiAccount:
        account = super().save(commit=False)
        token = (self.cleaned_data.get("api_token") or "").strip()
        if token:
            account.token = token
        if account.created_at is None:
            account.created_at = clock.now()
        if commit:
            account.save()
        return account


@admin.register(KaspiAccount)
class KaspiAccountAdmin(SectionAdmin):
    """Connect a Kaspi.kz merchant account: its orders are then polled every minute."""

    section = Section.SETTINGS
    form = KaspiAccountForm
    list_display = ["name", "is_active", "last_polled_at", "last_error"]
    readonly_fields = ["watermark", "last_polled_at", "last_error"]
    fields = ["name", "api_token", "is_active", "watermark", "last_polled_at", "last_error"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        do_record_audit(actor=request.user, action="kaspi.account.saved", target=obj, changes={"name": obj.name})


class SatuAccountForm(forms.ModelForm):
    """The API token is write-only: typed in, stored encrypted, never shown; left empty it stays."""

    api_token = forms.CharField(
        label=_("API token (Bearer)"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "From the Satu cabinet: Settings → API tokens, with the Orders right. Leave empty to keep the stored one."
        ),
    )

    class Meta:
        model = SatuAccount
        fields = ["name", "is_active", "pickup_location"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.instance.pk and not (data.get("api_token") or "").strip():
            self.add_error("api_token", _("Enter the API token to connect the account."))
        return data

    def save(self, commit: bool = True) -> SatuAccount:
        account = super().save(commit=False)
        token = (self.cleaned_data.get("api_token") or "").strip()
        if token:
            account.token = token
        if account.created_at is None:
            account.created_at = clock.now()
        if commit:
            account.save()
        return account


@admin.register(SatuAccount)
class SatuAccountAdmin(SectionAdmin):
    """Connect a Satu.kz company: its orders are then polled every minute."""

    section = Section.SETTINGS
    form = SatuAccountForm
    list_display = ["name", "is_active", "pickup_location", "last_polled_at", "last_error"]
    readonly_fields = ["last_id", "last_polled_at", "last_error"]
    fields = ["name", "api_token", "is_active", "pickup_location", "last_id", "last_polled_at", "last_error"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        do_record_audit(actor=request.user, action="satu.account.saved", target=obj, changes={"name": obj.name})


@admin.register(SatuOrder)
class SatuOrderAdmin(SectionAdmin):
    """Read-only: what became of each Satu order the poll has seen (a refusal or an error shows here)."""

    section = Section.SETTINGS
    read_only = True
    list_display = ["satu_id", "account", "status", "order", "outcome", "error", "pushed_status", "updated_at"]
    list_filter = ["outcome", "account"]
    search_fields = ["=satu_id", "order__number"]
    list_select_related = ["account", "order"]
