"""Admin classes that never render a secret.

Every model registered on the GoCSM admin site should use SafeModelAdmin (or SafeAdminMixin in
front of another ModelAdmin). The rules are by field name, so models added later follow them
without anyone remembering to:

- fields whose names mention token, secret, password, key, session or signature are left out of
  every list column, form, read-only display, search, filter and sort;
- fields named like `stripe_*_id` / `*stripe*_id` are shown only as their last 4 characters and
  are never editable.

The test tests/ops/test_admin_secrets.py walks every registered admin page and fails if a planted
secret shows up anywhere.
"""

from __future__ import annotations

import re

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist

SENSITIVE_FIELD = re.compile(r"(token|secret|password|key|session|signature)", re.IGNORECASE)
STRIPE_ID_FIELD = re.compile(r"stripe.*_id$|^stripe_", re.IGNORECASE)
MASK_PREFIX = "••••"


def mask_tail(value) -> str:
    """Show only the last 4 characters of an identifier (nothing at all if it is that short)."""
    if value in (None, ""):
        return ""
    text = str(value)
    return MASK_PREFIX + text[-4:] if len(text) > 4 else MASK_PREFIX


def is_sensitive(name: str) -> bool:
    return bool(SENSITIVE_FIELD.search(name))


def is_stripe_id(name: str) -> bool:
    return bool(STRIPE_ID_FIELD.search(name)) and not is_sensitive(name)


def _masked_name(name: str) -> str:
    return f"{name}__last4"


class SafeAdminMixin:
    """Filters every place ModelAdmin names fields. Put it first in the bases."""

    # A subclass may set `allowed_form_inputs`: form inputs that are not model fields and never
    # render a value (password1/password2 on the staff add form). No class default here, so a
    # mixed-in copy of this class never shadows the subclass's own setting.

    # --- which names are safe -----------------------------------------------------------------
    def _model_field_names(self) -> set[str]:
        names = set()
        for f in self.model._meta.get_fields():
            names.add(f.name)
            if getattr(f, "attname", None):
                names.add(f.attname)
        return names

    def _hidden(self, name) -> bool:
        if not isinstance(name, str):
            return False  # callables are our own display code
        if name in getattr(self, "allowed_form_inputs", ()):
            return False
        base = name.split("__", 1)[0]
        return is_sensitive(base) or is_sensitive(name)

    def _stripe_fields(self) -> list[str]:
        return [
            f.name
            for f in self.model._meta.concrete_fields
            if is_stripe_id(f.name) or is_stripe_id(f.attname)
        ]

    def _hidden_model_fields(self) -> list[str]:
        return [f.name for f in self.model._meta.concrete_fields if self._hidden(f.name)]

    def _clean(self, names, *, mask=True):
        stripe = set(self._stripe_fields())
        out = []
        for name in names or ():
            if self._hidden(name):
                continue
            if mask and isinstance(name, str) and name in stripe:
                name = _masked_name(name)
            out.append(name)
        return out

    # --- masked display of Stripe ids ---------------------------------------------------------
    def __getattr__(self, name):
        # Resolves "<field>__last4" entries in list_display / readonly_fields to a display method.
        if name.endswith("__last4"):
            field_name = name.removesuffix("__last4")
            try:
                field = self.model._meta.get_field(field_name)
            except FieldDoesNotExist:
                raise AttributeError(name) from None

            def display(obj):
                return mask_tail(getattr(obj, field.attname, ""))

            display.short_description = f"{field.verbose_name} (last 4)"
            return display
        raise AttributeError(name)

    # --- tenant models: admin is one of the two places allowed to read across agencies --------
    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.all_agencies() if hasattr(qs, "all_agencies") else qs

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            related = db_field.remote_field.model._default_manager.get_queryset()
            if hasattr(related, "all_agencies"):
                kwargs["queryset"] = related.all_agencies()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    # --- every place a field name can appear --------------------------------------------------
    def get_list_display(self, request):
        return self._clean(super().get_list_display(request)) or ["__str__"]

    def get_list_display_links(self, request, list_display):
        links = super().get_list_display_links(request, list_display)
        if links is None:
            return None
        return [name for name in links if name in list_display] or None

    def get_list_filter(self, request):
        stripe = set(self._stripe_fields())
        return [
            f
            for f in self._clean(super().get_list_filter(request), mask=False)
            if not (isinstance(f, str) and f in stripe)
        ]

    def get_search_fields(self, request):
        # Searching by a secret would turn the list into an oracle for it.
        return self._clean(super().get_search_fields(request), mask=False)

    def get_sortable_by(self, request):
        return self._clean(super().get_sortable_by(request))

    def get_list_editable(self):
        stripe = set(self._stripe_fields())
        return [n for n in self._clean(self.list_editable, mask=False) if n not in stripe]

    def get_changelist_instance(self, request):
        self.list_editable = self.get_list_editable()
        return super().get_changelist_instance(request)

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or ())
        return [*exclude, *self._hidden_model_fields(), *self._stripe_fields()]

    def get_readonly_fields(self, request, obj=None):
        names = self._clean(super().get_readonly_fields(request, obj))
        # A Stripe id named in the form is shown masked, read-only.
        for stripe_field in self._stripe_fields():
            masked = _masked_name(stripe_field)
            if masked not in names:
                names.append(masked)
        return names

    def get_fields(self, request, obj=None):
        fields = self._clean(super().get_fields(request, obj))
        seen = []
        for f in fields:
            if f not in seen:
                seen.append(f)
        return seen

    def get_fieldsets(self, request, obj=None):
        cleaned = []
        for title, options in super().get_fieldsets(request, obj):
            options = dict(options)
            fields = []
            for entry in options.get("fields", ()):
                if isinstance(entry, (list, tuple)):
                    group = self._clean(entry)
                    if group:
                        fields.append(tuple(group))
                else:
                    fields.extend(self._clean([entry]))
            if fields:
                options["fields"] = fields
                cleaned.append((title, options))
        return cleaned

    def get_form(self, request, obj=None, change=False, **kwargs):
        if kwargs.get("fields") is not None:
            kwargs["fields"] = [f for f in kwargs["fields"] if not self._hidden(f)]
        form = super().get_form(request, obj, change=change, **kwargs)
        # A custom form may declare a sensitive input of its own (UserChangeForm's password).
        declared = [n for n in form.base_fields if self._hidden(n)]
        if declared:
            form = type(form.__name__, (form,), dict.fromkeys(declared))
        return form


class SafeModelAdmin(SafeAdminMixin, admin.ModelAdmin):
    """ModelAdmin that never renders token/secret/password/key/session/signature fields and shows
    Stripe ids as their last 4 characters."""


class ReadOnlyAdminMixin:
    """Viewable, never added, changed or deleted (audit events, sync runs)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
