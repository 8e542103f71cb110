"""Console pages. Thin: parse the request, check the role, call queries/actions, render."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from omnia.accounts import actions as accounts_actions
from omnia.accounts import queries as accounts_queries
from omnia.console.context_processors import navigation_for
from omnia.core import permissions
from omnia.core.audit import list_audit
from omnia.core.errors import DomainError
from omnia.core.permissions import Role, Section
from omnia.inventory import queries as inventory_queries
from omnia.orders import queries as orders_queries
from omnia.orders.models import Source

View = Callable[..., HttpResponse]


def section_required(section: str) -> Callable[[View], View]:
    """Log-in required, and the user's role must allow `section`; otherwise a 403 page."""

    def decorate(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not permissions.can(request.user, section):  # type: ignore[arg-type]
                return render(request, "console/forbidden.html", status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JsonResponse({"status": "ok" if status == 200 else "degraded", "database": database}, status=status)


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("E-mail"), widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )


class LoginView(auth_views.LoginView):
    template_name = "console/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


@login_required
def home(request: HttpRequest) -> HttpResponse:
    items = navigation_for(request.user)
    if not items:
        return render(request, "console/forbidden.html", status=403)
    return redirect(items[0]["url"])


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        accounts_actions.do_set_password(
            actor=request.user,
            user=request.user,  # type: ignore[arg-type]
            password=form.cleaned_data["new_password1"],
        )
        update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
        messages.success(request, gettext("Your password has been changed."))
        return redirect("console:home")
    return render(request, "console/password_change.html", {"form": form})


def _page(request: HttpRequest, queryset: Any, per_page: int = 50) -> Any:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


@section_required(Section.ANALYTICS)
def analytics(request: HttpRequest) -> HttpResponse:
    report = orders_queries.sales_by_month_and_source()
    source_labels = dict(Source.choices)
    chart = {
        "labels": report.months,
        "datasets": [
            {
                "label": str(source_labels.get(source, source)),
                "data": [float(by_month.get(m, 0)) for m in report.months],
            }
            for source, by_month in sorted(report.by_source.items())
        ],
    }
    rows = [{"month": m, "orders": report.orders.get(m, 0), "revenue": report.totals[m]} for m in report.months]
    return render(
        request,
        "console/analytics.html",
        {
            "chart": chart,
            "rows": list(reversed(rows)),
            "currency": settings.OMNIA_CURRENCY,
            "topics": "analytics",
        },
    )


def _settings_tabs(request: HttpRequest) -> dict[str, bool]:
    return {
        "can_users": permissions.can(request.user, Section.USERS),  # type: ignore[arg-type]
        "can_audit": permissions.can(request.user, Section.AUDIT),  # type: ignore[arg-type]
    }


@section_required(Section.SETTINGS)
def settings_overview(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "console/settings.html",
        {
            "locations": inventory_queries.list_locations(active_only=False),
            **_settings_tabs(request),
        },
    )


class UserForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"))
    first_name = forms.CharField(label=_("First name"), required=False)
    last_name = forms.CharField(label=_("Last name"), required=False)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    store = forms.ModelChoiceField(label=_("Store"), required=False, queryset=inventory_queries.list_stores())
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)


def _apply_domain_error(form: forms.Form, exc: DomainError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, exc.message)


@section_required(Section.USERS)
def settings_users(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts_actions.check_create_user(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _apply_domain_error(form, exc)
        else:
            messages.success(request, gettext("User %(email)s created.") % {"email": user.email})
            return redirect("console:settings_users")
    return render(
        request,
        "console/settings_users.html",
        {
            "form": form,
            "users": accounts_queries.list_users(),
            **_settings_tabs(request),
        },
    )


class TokenForm(forms.Form):
    name = forms.CharField(label=_("Integration name"), max_length=100)
    role = forms.ChoiceField(
        label=_("Acts as"), choices=[c for c in Role.choices if c[0] != Role.CLERK], initial=Role.MANAGER
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), widget=forms.CheckboxSelectMultiple, choices=[(s, s) for s in permissions.scope_names()]
    )


@section_required(Section.USERS)
def settings_tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            issued = accounts_actions.check_create_token(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            _apply_domain_error(form, exc)
        else:
            form = TokenForm()
    return render(
        request,
        "console/settings_tokens.html",
        {
            "form": form,
            "issued": issued,
            "tokens": accounts_queries.list_tokens(),
            **_settings_tabs(request),
        },
    )


@require_POST
@section_required(Section.USERS)
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = accounts_actions.do_revoke_token(actor=request.user, token_id=token_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("Token %(name)s revoked.") % {"name": token.name})
    return redirect("console:settings_tokens")


@section_required(Section.AUDIT)
def settings_audit(request: HttpRequest) -> HttpResponse:
    page = _page(request, list_audit())
    return render(request, "console/settings_audit.html", {"page": page, **_settings_tabs(request)})
