"""Worst-case admins: every model of admin.site registered again with a naive ModelAdmin that
lists, shows and edits every field. The hardened site must still render no secret."""

from django.contrib import admin

from gocsm.adminsite import GoCSMAdminSite


def _naive(model, *, readonly: bool):
    names = [f.name for f in model._meta.concrete_fields if not f.primary_key]
    chars = [f.name for f in model._meta.concrete_fields if f.get_internal_type() == "CharField"]
    attrs = {"list_display": ["pk", *names], "search_fields": chars, "list_filter": names[:3]}
    if readonly:
        attrs["readonly_fields"] = names
    else:
        attrs["fields"] = [n for n in names if model._meta.get_field(n).editable]
    return type(f"Naive{model.__name__}Admin", (admin.ModelAdmin,), attrs)


def build_site(*, readonly: bool) -> GoCSMAdminSite:
    # Named "admin" like the real site: the auth guard lets only that namespace through.
    site = GoCSMAdminSite(name="admin")
    for model in list(admin.site._registry):
        site.register(model, _naive(model, readonly=readonly))
    return site
