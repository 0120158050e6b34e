"""Staff views of plays, episodes, deliveries and tasks. Webhook URLs and the signing secret are
never shown (their field names keep them out; gocsm.adminsafe); the masked host is."""

from django.contrib import admin

from analytics.playbooks.models import Delivery, Episode, Play, Task
from gocsm.adminsafe import ReadOnlyAdminMixin, SafeModelAdmin


@admin.register(Play)
class PlayAdmin(SafeModelAdmin):
    list_display = ("name", "agency", "trigger", "enabled", "email_on", "task_on", "created_at")
    list_filter = ("enabled", "trigger")
    search_fields = ("name",)

    def get_queryset(self, request):
        return Play.objects.all_agencies().select_related("agency")


@admin.register(Episode)
class EpisodeAdmin(ReadOnlyAdminMixin, SafeModelAdmin):
    list_display = ("agency", "location_ghl_id", "kind", "started_day", "ended_day", "end_reason")
    list_filter = ("kind", "end_reason")

    def get_queryset(self, request):
        return Episode.objects.all_agencies().select_related("agency")


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, SafeModelAdmin):
    list_display = ("play", "location_ghl_id", "action", "status", "attempts", "response_code")
    list_filter = ("action", "status")

    def get_queryset(self, request):
        return Delivery.objects.all_agencies().select_related("play")


@admin.register(Task)
class TaskAdmin(ReadOnlyAdminMixin, SafeModelAdmin):
    list_display = ("title", "agency", "location_ghl_id", "status", "due", "assignee")
    list_filter = ("status",)

    def get_queryset(self, request):
        return Task.objects.all_agencies().select_related("agency", "assignee")
