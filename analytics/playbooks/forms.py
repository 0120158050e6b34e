"""Forms of the playbook pages. Webhook URLs are write-only: the fields never render a value."""

from __future__ import annotations

from django import forms

from accounts import lookups
from accounts.models import GHLUser
from analytics.playbooks import outbound, seams, triggers
from analytics.playbooks.models import Play, Task


def _checked_url(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > 2000:
        raise forms.ValidationError("That URL is too long.")
    try:
        outbound.check(value)
    except outbound.Refused as exc:
        raise forms.ValidationError(f"This URL cannot be used: {exc}.") from exc
    return value


class WebhookUrlField(forms.CharField):
    widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})

    def clean(self, value):
        return _checked_url(super().clean(value))


class PlayForm(forms.Form):
    name = forms.CharField(max_length=120)
    trigger = forms.ChoiceField()
    threshold = forms.IntegerField(
        required=False, min_value=1, max_value=99, help_text="Percent, churn prediction only."
    )
    segment = forms.ChoiceField(required=False)
    tag = forms.ChoiceField(required=False)
    ghl_webhook_url = WebhookUrlField(
        required=False,
        label="GHL workflow inbound webhook URL",
        help_text="Leave empty to keep the current one.",
    )
    remove_ghl = forms.BooleanField(required=False, label="Stop calling the GHL workflow")
    slack_webhook_url = WebhookUrlField(
        required=False,
        label="Slack incoming webhook URL",
        help_text="Leave empty to keep the current one.",
    )
    remove_slack = forms.BooleanField(required=False, label="Stop posting to Slack")
    email_on = forms.BooleanField(required=False, label="Email the CSM (or the owner)")
    task_on = forms.BooleanField(required=False, label="Open a task")
    task_due_days = forms.IntegerField(min_value=0, max_value=60, initial=3)
    task_assignee = forms.ChoiceField(required=False, label="Task for")
    task_note = forms.CharField(required=False, max_length=500, widget=forms.Textarea)

    def __init__(self, agency, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.agency = agency
        self.fields["trigger"].choices = triggers.kinds(churn_available=seams.churn_available())
        self.fields["segment"].choices = [("", "Any segment"), *seams.segment_choices(agency)]
        self.fields["tag"].choices = [("", "Any tag"), *seams.tag_choices(agency)]
        people = (
            GHLUser.objects.for_agency(agency)
            .filter(deleted=False)
            .exclude(role=GHLUser.ROLE_LOCATION)
        )
        self.fields["task_assignee"].choices = [
            ("", "The sub-account's CSM (the owner until CSMs are assigned)"),
            *((str(u.pk), u.name or u.email or u.ghl_id) for u in people.order_by("name")),
        ]

    def clean(self):
        data = super().clean()
        if data.get("trigger") == triggers.CHURN and not data.get("threshold"):
            self.add_error("threshold", "Give the churn probability (percent) that fires it.")
        return data


class TaskForm(forms.Form):
    status = forms.ChoiceField(choices=Task.STATUSES)
    notes = forms.CharField(required=False, max_length=4000, widget=forms.Textarea)
    due = forms.DateField()
    assignee = forms.ChoiceField(required=False)

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The agency's people who are not a sub-account's own, not removed in GHL: the lists the
        # request's page already read (accounts.lookups), as the sub-account page builds this form.
        assignees = lookups.for_request(request).assignees
        self.fields["assignee"].choices = [("", "Nobody"), *assignees]


def play_initial(play: Play) -> dict:
    return {
        "name": play.name,
        "trigger": play.trigger,
        "threshold": round(play.threshold * 100) if play.threshold else None,
        "segment": play.segment,
        "tag": play.tag,
        "email_on": play.email_on,
        "task_on": play.task_on,
        "task_due_days": play.task_due_days,
        "task_assignee": str(play.task_assignee_id or ""),
        "task_note": play.task_note,
    }
