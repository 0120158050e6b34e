"""Markup is the templates' job, and so is escaping: no production module marks a string safe, and
no template switches autoescaping off. An exception needs a test proving its value is escaped, and
its place in AUDITED (file -> the test that proves it)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "analytics", "billing", "gocsm", "sync")
# Plain-text renderings (an email's text part, Slack mrkdwn) that HTML-escaping would garble; the
# Slack ones escape for Slack (& < >) before rendering.
_PLAIN = "tests/playbooks/test_pages.py::test_plain_text_renderings_escape_for_their_medium"
AUDITED: dict[str, str] = {
    "templates/playbooks/slack_text.txt": _PLAIN,
    "templates/playbooks/slack_headline.txt": _PLAIN,
    "templates/playbooks/slack_facts.txt": _PLAIN,
    "templates/playbooks/email/subject.txt": _PLAIN,
    "templates/playbooks/email/play.txt": _PLAIN,
}

PYTHON = re.compile(r"\bmark_safe\b|\bSafeString\b|\bSafeData\b|\bhtml_safe\b")
TEMPLATE = re.compile(r"\|\s*safe\b|\{%\s*autoescape\s+off")


def _files(pattern: str, roots) -> list[Path]:
    return sorted(p for root in roots for p in (ROOT / root).rglob(pattern))


def test_no_module_marks_markup_safe():
    found = [
        str(p.relative_to(ROOT))
        for p in _files("*.py", APPS)
        if PYTHON.search(p.read_text()) and str(p.relative_to(ROOT)) not in AUDITED
    ]
    assert found == []


def test_no_template_turns_escaping_off():
    found = [
        str(p.relative_to(ROOT))
        for p in _files("*.html", ("templates", *APPS)) + _files("*.txt", ("templates",))
        if TEMPLATE.search(p.read_text()) and str(p.relative_to(ROOT)) not in AUDITED
    ]
    assert found == []


def test_the_scan_sees_the_templates_and_modules():
    # A moved folder must not turn the two checks above into checks of nothing.
    assert len(_files("*.py", APPS)) > 50
    assert (ROOT / "templates" / "analytics" / "_chart.html") in _files("*.html", ("templates",))
