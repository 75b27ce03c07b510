"""The chat and e-mail channels' messages, built from real occurrences: Microsoft Teams
(checked by the Adaptive Cards SDK and the published 1.4 schema), Discord and Mattermost within
their limits, the e-mail's parts; which format a URL gets and why; digests most urgent first
in every channel, with what a cut leaves out said; test messages marked in every channel."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from calendar_tool import delivery, service, wording
from calendar_tool.delivery import channels
from calendar_tool.model import (
    CHANGED,
    Format,
    Notice,
    Occurrence,
    Offset,
    Register,
    Reminder,
    Subscription,
)
from calendar_tool.register import parse_register
from calendar_tool.timeline import occurrences
from tests.cards import schema_problems, sdk_problems
from tests.registers import HEADER, entry, register_of

LINK = "https://cal.example.org"
TODAY = date(2027, 6, 1)
AT = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
TEAMS_URL = ("https://default52e9a1b2c3d4e5f60718293a4b5c6d75.0b.environment.api.powerplatform"
             ".com:443/powerautomate/automations/direct/workflows/0123456789abcdef0123456789abcdef"
             "/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0"
             "&sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde")
DISCORD_URL = "https://discord.com/api/webhooks/123456789012345678/tOkEn_abc-DEF"
MATTERMOST_URL = "https://chat.example.org/hooks/xg7q1ybrkf8zjm5wgtf3hbo6ah"


def _occurrences(register: Register) -> dict[str, Occurrence]:
    return {o.id: o for o in occurrences(register, date(2030, 12, 31)) if o.when is not None}


def reminders_on(register: Register, today: date = TODAY, name: str = "team",
                 ids: list[str] | None = None) -> list[Reminder]:
    """A reminder of each occurrence (or those of `ids`), sent at 09:00 UTC on `today`, days
    left counted to each one's day, as the ledger would have them in one digest."""
    found = _occurrences(register)
    out = []
    for oid in ids or sorted(found):
        o = found[oid]
        left = ((o.key_date or today) - today).days
        notice = Notice.DUE if left == 0 else Notice.REMINDER if left > 0 else Notice.OVERDUE
        out.append(Reminder(name, o, f"P{max(left, 0)}D", notice,
                            datetime.combine(today, AT.timetz()), left))
    return out


def long_register(count: int, title_length: int = 250) -> Register:
    """`count` deadlines from 3 to 3 + count - 1 days after TODAY, with long titles (the last
    ones are the most urgent by their ids, the first by their days)."""
    text = HEADER
    for i in range(count):
        due = TODAY + timedelta(days=3 + i)
        title = f"Deadline {i:02d} " + "x" * (title_length - 12)
        text += entry(f"e{count - i:02d}", due.isoformat()).replace(
            f"Title of e{count - i:02d}", title)
    return parse_register(text, "long.yaml")


def render(fmt: Format, reminders: list[Reminder], register: Register, **kw: Any) -> Any:
    return json.loads(delivery.render(fmt, reminders, register, LINK, **kw))


# --- the order of a digest, in every channel --------------------------------------------------

def _order(fmt: Format, message: Any) -> list[str]:
    """The occurrence ids (by their titles) a message shows, in its order."""
    text = json.dumps(message, ensure_ascii=False).replace("\\\\", "")  # Discord's escapes
    titles = {f"Title of {k}": k for k in ("soon", "later", "today", "late", "same-a", "same-b")}
    return [k for _, k in sorted((text.index(t), k) for t, k in titles.items() if t in text)]


@pytest.mark.parametrize("fmt", list(Format))
def test_every_channel_lists_the_most_urgent_first(fmt: Format) -> None:
    """Fewest days left first (overdue before today before later), then the earlier day,
    then the id, whatever order the reminders come in."""
    register = register_of(entry("later", "2027-06-15"), entry("soon", "2027-06-08"),
                           entry("today", "2027-06-01"), entry("late", "2027-05-31"),
                           entry("same-b", "2027-06-08"), entry("same-a", "2027-06-08"))
    given = reminders_on(register)
    message = render(fmt, given, register)
    assert _order(fmt, message) == ["late", "today", "same-a", "same-b", "soon", "later"]
    assert delivery.render(fmt, list(reversed(given)), register, LINK) == \
        delivery.render(fmt, given, register, LINK)


@pytest.mark.parametrize(("fmt", "where"), [
    (Format.SLACK, lambda m: m["blocks"][-1]["elements"][0]["text"]),
    (Format.TEAMS, lambda m: m["attachments"][0]["content"]["body"][-1]["text"]),
    (Format.DISCORD, lambda m: m["embeds"][0]["description"].splitlines()[-1]),
    (Format.MATTERMOST, lambda m: m["text"].splitlines()[-1]),
])
def test_a_cut_digest_says_how_many_and_the_soonest_left_out(fmt: Format, where: Any) -> None:
    """27 reminders: the 20 most urgent shown (those due in 3 to 22 days), then what is left
    out, with the soonest of it."""
    register = long_register(27, title_length=40)
    message = render(fmt, reminders_on(register), register)
    assert where(message) == "…and 7 more, the soonest in 23 days"
    # (Slack's plain-text fallback holds as many lines as fit in it: not the point here.)
    text = json.dumps(message.get("blocks", message), ensure_ascii=False)
    assert "Deadline 00 " in text and "Deadline 19 " in text and "Deadline 20 " not in text


def test_the_email_digest_says_what_it_leaves_out_and_its_calendar_holds_everything() -> None:
    """The e-mail shows 100 reminders; its calendar part has every occurrence."""
    register = long_register(103, title_length=30)
    message = render(Format.EMAIL, reminders_on(register), register)
    assert "…and 3 more, the soonest in 103 days" in message["text"]
    assert "…and 3 more, the soonest in 103 days" in message["html"]
    assert message["calendar"].count("BEGIN:VEVENT") == 103


# --- Slack ----------------------------------------------------------------------------------------

def test_a_slack_section_of_escaped_text_keeps_whole_escapes_and_every_fact() -> None:
    """A 5,000-character title and an actor's 500-character title all of "&" (each
    "&amp;" in Slack): the section, clipped to 3,000 characters after escaping, ended in
    "&amp;&am…" and lost its source line. Each field is now clipped by its escaped length:
    whole escapes, every fact, within 3,000."""
    text = HEADER.replace("{title: Member States}", '{title: "' + "&" * 500 + '"}')
    text += entry("odd", "2027-06-08").replace("Title of odd", '"' + "&" * 5000 + '"')
    register = parse_register(text, "amp.yaml")
    section = render(Format.SLACK, reminders_on(register), register)["blocks"][1]
    assert section["text"]["text"] == (
        f"*<{LINK}/obligations/odd|" + "&amp;" * 59 + "…>*\n"
        "*When:* by 8 June 2027 (in 7 days)\n"
        "*Who:* " + "&amp;" * 99 + "…\n"
        "*Source:* <https://example.org/d1|D/1 para. 1>")


def test_a_slack_section_too_long_for_its_links_drops_whole_lines() -> None:
    """A document URL of 3,000 characters: the section was cut inside the link (an unclosed
    "<https://…", which Slack refuses); it now ends with the last line that fits, and "…"."""
    long_url = "https://example.org/" + "a" * 3000
    register = parse_register((HEADER + entry("a", "2027-06-08")).replace(
        "https://example.org/d1", long_url), "url.yaml")
    section = render(Format.SLACK, reminders_on(register), register)["blocks"][1]
    assert section["text"]["text"] == (
        f"*<{LINK}/obligations/a|Title of a>*\n"
        "*When:* by 8 June 2027 (in 7 days)\n"
        "*Who:* Member States\n"
        "…")


@pytest.mark.parametrize(("fmt", "where", "shown"), [
    (Format.DISCORD, lambda m: m["embeds"][0]["description"],
     "**Due in 7 days**\n**When:** by 8 June 2027 \\(in 7 days\\)\n**Who:** Member States\n…"),
    (Format.MATTERMOST, lambda m: m["text"],
     f"#### [Due in 7 days: Title of a]({LINK}/obligations/a)\n"
     "**When:** by 8 June 2027 (in 7 days)\n**Who:** Member States\n…"),
])
def test_a_message_too_long_for_its_links_drops_whole_lines(fmt: Format, where: Any,
                                                             shown: str) -> None:
    """A document URL of 5,000 characters: Discord's description (4,096) and Mattermost's
    text (4,000) were cut inside the link ("[D/1 para. 1](https://example.org/aaa…", shown as
    raw text); they now end with the last whole line that fits, and "…"."""
    long_url = "https://example.org/" + "a" * 5000
    register = parse_register((HEADER + entry("a", "2027-06-08")).replace(
        "https://example.org/d1", long_url), "url.yaml")
    assert where(render(fmt, reminders_on(register), register)) == shown


# --- Microsoft Teams ---------------------------------------------------------------------------

def test_a_teams_card_reads_at_a_glance(sample: Register) -> None:
    """What, when with the text's precision and the days left, who, the source with its
    link, and a button to the entry's page, in the envelope the workflow reads."""
    [r] = reminders_on(sample, date(2002, 12, 1), ids=["victims-review"])
    message = render(Format.TEAMS, [r], sample)
    assert message == {"type": "message", "attachments": [{
        "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
        "content": {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard", "version": "1.4", "msteams": {"width": "Full"},
            "body": [
                {"type": "TextBlock", "wrap": True, "size": "Medium", "weight": "Bolder",
                 "text": "Due in 30 days: Review practices relating to victims of crime"},
                {"type": "FactSet", "facts": [
                    {"title": "When", "value": "by end of 2002 (in 30 days)"},
                    {"title": "Who", "value": "Member States"},
                    {"title": "Source",
                     "value": "[A/RES/55/59 para. 27](https://undocs.org/A/RES/55/59)"}]}],
            "actions": [{"type": "Action.OpenUrl", "title": "Open the entry",
                         "url": f"{LINK}/obligations/victims-review"}]}}]}


def test_every_teams_card_is_accepted_by_the_sdk_and_the_schema(sample: Register) -> None:
    """Single reminders of every kind, state and date of the sample, digests, a test message,
    and a digest too large for 28 KB: both independent implementations accept each."""
    all_of = reminders_on(sample, date(2001, 1, 1))
    messages = [render(Format.TEAMS, [r], sample) for r in all_of]
    messages.append(render(Format.TEAMS, all_of, sample))
    messages.append(render(Format.TEAMS, all_of[:1], sample, test=True))
    big = long_register(40, title_length=1000)
    messages.append(render(Format.TEAMS, reminders_on(big), big))
    assert sdk_problems(messages) == [[] for _ in messages]
    assert [schema_problems(m) for m in messages] == [[] for _ in messages]


def test_the_validators_do_refuse_a_card_teams_workflows_cannot_show(sample: Register) -> None:
    """The checks can fail: a 1.5 heading style, a Table and Action.Submit are refused."""
    message = render(Format.TEAMS, reminders_on(sample, ids=["victims-review"]), sample)
    card = message["attachments"][0]["content"]
    card["body"][0]["style"] = "heading"
    card["body"].append({"type": "Table", "rows": []})
    [found] = sdk_problems([message])
    assert found == [
        'parse: UnsupportedProperty: Property "style" is supported in version 1.5, but you '
        'are using version 1.4.',
        'parse: UnknownElementType: Unknown element type "Table". Fallback will be used if '
        'present.']
    assert schema_problems(message) != []


def test_a_slack_digest_keeps_all_its_blocks_text_within_10000_characters() -> None:
    """Twelve deadlines citing a document whose link is 1,500 characters long: a section each
    of 1,637 characters, twelve of them 19,644, which Slack refuses whole
    (`msg_blocks_too_long`, at about 12,000 characters in all, undocumented). The digest shows
    the six most urgent, whose text and the header's and the last line's come to 9,877, and
    counts the rest."""
    text = HEADER.replace('"https://example.org/d1"', f'"https://example.org/{"d" * 1480}"')
    for i in range(12):
        text += entry(f"e{i:02d}", (TODAY + timedelta(days=3 + i)).isoformat())
    register = parse_register(text, "r.yaml")
    blocks = render(Format.SLACK, reminders_on(register), register)["blocks"]
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert [re.findall(r"\|Title of (e\d\d)>", s) for s in sections] == [
        [f"e{i:02d}"] for i in range(6)]
    assert [len(s) for s in sections] == [1637] * 6
    assert blocks[-1]["elements"][0]["text"] == "…and 6 more, the soonest in 9 days"
    assert sum(len(b["text"]["text"]) for b in blocks if "text" in b) + \
        len(blocks[-1]["elements"][0]["text"]) == 9877


def test_a_teams_digest_stays_within_28_kb_and_escapes_markdown() -> None:
    """Forty reminders with 1,000-character titles: fewer shown, the rest counted, the body
    within the webhook's 28 KB; a title's markdown characters shown as they are."""
    big = long_register(40, title_length=1000)
    body = delivery.render(Format.TEAMS, reminders_on(big), big, LINK)
    assert len(body.encode()) <= 28_000
    items = json.loads(body)["attachments"][0]["content"]["body"]
    shown = [b for b in items if b["type"] == "Container"]
    assert 10 < len(shown) < 40
    assert items[-1]["text"] == f"…and {40 - len(shown)} more, the soonest in {3 + len(shown)} days"
    odd = parse_register(HEADER + entry("odd", "2027-06-08").replace(
        "Title of odd", "Arms *and* [draft]_v2"), "odd.yaml")
    text = render(Format.TEAMS, reminders_on(odd), odd)["attachments"][0]["content"]["body"]
    assert text[0]["text"] == r"Due in 7 days: Arms \*and\* \[draft\]\_v2"


# --- Discord -----------------------------------------------------------------------------------

def test_a_discord_digest_of_30_stays_within_its_limits() -> None:
    """30 reminders with 250-character titles: content within 2,000 characters (it was 2,971
    when Discord got Slack's fallback), one embed within 256/4,096 and 6,000 in all, nobody
    pinged, the most urgent first and what is left out said."""
    register = long_register(30)
    message = render(Format.DISCORD, reminders_on(register), register)
    assert message["content"] == "30 reminders for team"
    assert len(message["content"]) <= 2000
    assert message["allowed_mentions"] == {"parse": []}
    [embed] = message["embeds"]
    assert len(embed["title"]) <= 256 and len(embed["description"]) <= 4096
    assert len(embed["title"]) + len(embed["description"]) <= 6000
    lines = embed["description"].splitlines()
    assert lines[0].startswith("[**Deadline 00 xxx")
    assert lines[0].endswith(f"…**]({LINK}/obligations/e30): Due in 3 days, by 4 June 2027")
    shown = len(lines) - 1
    assert lines[-1] == f"…and {30 - shown} more, the soonest in {3 + shown} days"


def test_a_discord_reminder_is_one_embed_linking_to_the_entry(sample: Register) -> None:
    """Its title links to the entry's page; a test message says so in its content."""
    [r] = reminders_on(sample, date(2002, 12, 1), ids=["victims-review"])
    message = render(Format.DISCORD, [r], sample, test=True)
    assert message == {
        "content": r"Test message from calendar\-tool\: Due in 30 days\: Review practices "
                   r"relating to victims of crime",
        "allowed_mentions": {"parse": []},
        "embeds": [{
            "title": "Review practices relating to victims of crime",
            "url": f"{LINK}/obligations/victims-review",
            "description": "**Due in 30 days**\n**When:** by end of 2002 \\(in 30 days\\)\n"
                           "**Who:** Member States\n**Source:** [A/RES/55/59 para. 27]"
                           "(https://undocs.org/A/RES/55/59)",
            "color": 0x3498DB}]}


def titled(title: str) -> Register:
    """A register of one deadline a week after TODAY, with the given title."""
    return parse_register(HEADER + entry("odd", "2027-06-08").replace(
        "Title of odd", json.dumps(title, ensure_ascii=False)), "odd.yaml")


@pytest.mark.parametrize(("title", "shown"), [
    ("x" * 254 + "🇦🇹🇦🇹", "x" * 254 + "…"),
    ("x" * 253 + "👨‍👩‍👧", "x" * 253 + "…"),
    ("x" * 254 + "e\u0301e\u0301", "x" * 254 + "…"),
    ("x" * 253 + "🇦🇹🇦🇹", "x" * 253 + "🇦🇹…"),
])
def test_a_clipped_title_keeps_each_character_whole(title: str, shown: str) -> None:
    """Discord's embed title (256 characters) was cut between the two halves of a flag (a
    lone "🇦" before "…"), after a joiner or before an accent: the cut now falls before the
    whole character."""
    register = titled(title)
    [embed] = render(Format.DISCORD, reminders_on(register), register)["embeds"]
    assert embed["title"] == shown


def test_a_clipped_slack_header_keeps_a_flag_whole() -> None:
    """Slack's header (150 characters) ended in half a flag, the same way."""
    register = titled("x" * 133 + "🇦🇹🇦🇹")
    header = render(Format.SLACK, reminders_on(register), register)["blocks"][0]
    assert header["text"]["text"] == "Due in 7 days: " + "x" * 133 + "…"


def test_a_long_discord_content_is_cut_before_an_escape_not_inside_it() -> None:
    """A 2,002-character title ending in markdown: the content was cut after escaping, and
    ended in a lone backslash before "…" (`x\\…`, which Discord shows). It is cut before the
    escaped character, within 2,000 characters."""
    register = titled("x" * 1982 + "*" * 20)
    content = render(Format.DISCORD, reminders_on(register), register)["content"]
    assert content == "Due in 7 days\\: " + "x" * 1982 + "…"


# --- Mattermost ---------------------------------------------------------------------------------

def test_a_mattermost_reminder_is_markdown_text(sample: Register) -> None:
    """No Slack blocks (Mattermost ignores them): a heading linking to the entry, then when,
    who and the source."""
    [r] = reminders_on(sample, date(2002, 12, 1), ids=["victims-review"])
    assert render(Format.MATTERMOST, [r], sample) == {"text": (
        f"#### [Due in 30 days: Review practices relating to victims of crime]({LINK}"
        "/obligations/victims-review)\n"
        "**When:** by end of 2002 (in 30 days)\n"
        "**Who:** Member States\n"
        "**Source:** [A/RES/55/59 para. 27](https://undocs.org/A/RES/55/59)")}


def _mattermost_words(text: str) -> list[str]:
    """The words Mattermost's server looks for mentions in (its StandardMentionParser splits
    at every character but a letter, a digit and `:._-@`, escaped or not)."""
    return [w for w in re.split(r"[^\w:.\-@]", text) if w]


def test_a_mattermost_title_mentions_nobody() -> None:
    """"@channel", "@all" and "@here" in a title notified everyone in the channel (a
    backslash does not stop Mattermost's parser): each "@" is now followed by a word joiner
    (U+2060), invisible, so that no word is a mention."""
    register = titled("Ping @channel, @all and @here (report to @alice)")
    text = render(Format.MATTERMOST, reminders_on(register), register)["text"]
    wj = "\u2060"
    assert text.splitlines()[0] == (
        f"#### [Due in 7 days: Ping @{wj}channel, @{wj}all and @{wj}here (report to "
        f"@{wj}alice)]({LINK}/obligations/odd)")
    assert [w for w in _mattermost_words(text) if w.startswith("@")] == ["@"] * 4


def test_a_mattermost_digest_of_60_stays_within_4000_characters() -> None:
    """Whole lines only, within the oldest servers' limit."""
    register = long_register(60)
    text = render(Format.MATTERMOST, reminders_on(register), register)["text"]
    assert len(text) <= 4000
    lines = text.splitlines()
    assert lines[0] == "#### 60 reminders for team"
    assert all(line.startswith("- **[Deadline ") for line in lines[1:-1])
    shown = len(lines) - 2
    assert lines[-1] == f"…and {60 - shown} more, the soonest in {3 + shown} days"


# --- e-mail -------------------------------------------------------------------------------------

def test_an_email_has_a_subject_a_date_text_html_and_the_feed_events(sample: Register) -> None:
    """The calendar part holds the occurrence's feed event (its UID); the date is the
    reminder's instant, so a retry is the same message."""
    [r] = reminders_on(sample, date(2002, 12, 1), ids=["victims-review"])
    message = render(Format.EMAIL, [r], sample)
    assert message["subject"] == "Due in 30 days: Review practices relating to victims of crime"
    assert message["date"] == "Sun, 01 Dec 2002 09:00:00 +0000"
    assert message["text"] == (
        "Due in 30 days: Review practices relating to victims of crime\n\n"
        "When: by end of 2002 (in 30 days)\n"
        "Who: Member States\n"
        "Source: A/RES/55/59 para. 27 <https://undocs.org/A/RES/55/59>\n"
        f"Entry: {LINK}/obligations/victims-review\n\n"
        "-- \n"
        "Sent by calendar-tool to the subscription 'team'. The calendar in this message adds "
        f"this date to your calendar; the calendar feeds at {LINK}/ keep them current.\n")
    assert '<a href="https://undocs.org/A/RES/55/59">A/RES/55/59 para. 27</a>' in message["html"]
    calendar = message["calendar"]
    assert calendar.startswith("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n")
    assert "METHOD:PUBLISH\r\n" in calendar and "UID:victims-review@calendar-tool\r\n" in calendar


# --- a changed or confirmed date --------------------------------------------------------------

@pytest.mark.parametrize("fmt", [Format.SLACK, Format.TEAMS, Format.DISCORD, Format.MATTERMOST,
                                 Format.EMAIL])
@pytest.mark.parametrize("many", [False, True])
def test_a_changed_date_says_from_which_day_in_every_channel(fmt: Format, many: bool) -> None:
    """A notice of a moved date gave the old day in Slack alone: Teams, Discord, Mattermost
    and e-mail said "Date changed" and the new day, and the reader could not tell what
    changed. Alone or in a digest, every channel now says it."""
    register = register_of(entry("moved", "2027-06-30"), entry("other", "2027-06-08"))
    found = _occurrences(register)
    notice = Reminder("team", found["moved"], CHANGED, Notice.CHANGED, AT, 29, "2027-05-31")
    rs = [notice, *reminders_on(register, ids=["other"])] if many else [notice]
    rendered = render(fmt, rs, register)
    message = json.dumps(rendered, ensure_ascii=False).replace("\\", "")
    assert "Reminders so far counted from 31 May 2027; now from 30 June 2027." in message
    if fmt is Format.TEAMS:
        assert (sdk_problems([rendered]), schema_problems(rendered)) == ([[]], [])


# --- test messages -------------------------------------------------------------------------------

@pytest.mark.parametrize(("fmt", "where"), [
    (Format.JSON, lambda m: str(m["test"])),
    (Format.SLACK, lambda m: m["blocks"][0]["text"]["text"] + m["text"]),
    (Format.TEAMS, lambda m: m["attachments"][0]["content"]["body"][0]["text"]),
    (Format.DISCORD, lambda m: m["content"].replace("\\", "")),
    (Format.MATTERMOST, lambda m: m["text"].splitlines()[0]),
    (Format.EMAIL, lambda m: m["subject"] + m["text"] + m["html"]),
])
def test_a_test_message_says_so_in_every_channel(sample: Register, fmt: Format,
                                                 where: Any) -> None:
    """And a message that is not a test says nothing of the kind."""
    rs = reminders_on(sample, date(2002, 12, 1), ids=["victims-review"])
    marked = where(render(fmt, rs, sample, test=True))
    assert ("True" if fmt is Format.JSON else wording.TEST_MARK) in marked
    plain = delivery.render(fmt, rs, sample, LINK)
    assert wording.TEST_MARK not in plain.replace("\\", "") and '"test"' not in plain


def test_the_sample_counts_days_from_today_to_the_occurrences_day() -> None:
    """The bug: with only a 30-day offset, the next reminder of a deadline a week away is its
    overdue notice, and the test message said "1 day overdue". It now says "Due in 7 days"."""
    register = register_of(entry("a", "2027-06-08"))
    sub = Subscription("team", "https://x.org/h", Format.SLACK, AT,
                       offsets=(Offset(days=30),), zone="Europe/Vienna")
    sample = service.sample_reminder(register, sub, AT)
    assert (sample.occurrence.id, sample.days_left, sample.notice, sample.offset) == (
        "a", 7, Notice.REMINDER, "P7D")
    assert wording.lead(sample) == "Due in 7 days"
    # On the day, in the subscription's zone: Vienna is already on 8 June at 23:30 UTC.
    late = datetime(2027, 6, 7, 23, 30, tzinfo=UTC)
    sample = service.sample_reminder(register, sub, late)
    assert (sample.days_left, sample.notice, wording.lead(sample)) == (
        0, Notice.DUE, "Due today")


def test_the_sample_of_a_review_subscription_is_an_item_of_the_review() -> None:
    """A --review subscription's next message is the keepers' review: its test message was
    about the review's first item read as a reminder, "9497 days overdue" for a 2001
    deadline nobody recorded (or "Due today" for an undated urgent one). It is that item, as
    the review words it."""
    register = register_of(entry("old", "2001-05-31"))
    sub = Subscription("keepers", "https://x.org/h", Format.SLACK, AT, review=True)
    sample = service.sample_reminder(register, sub, AT)
    assert (sample.occurrence.id, sample.notice, sample.offset, sample.detail,
            sample.instant, sample.days_left) == (
        "old", Notice.REVIEW, "review", "long-past", AT, (date(2001, 5, 31) - AT.date()).days)
    assert wording.lead(sample) == ("To review (past its due day with no status: record "
                                    "whether it was met or missed)")
    assert render(Format.JSON, [sample], register, test=True)["type"] == "obligation.review"


def test_a_digest_of_the_review_is_titled_as_the_review() -> None:
    """The keepers' weekly review of several items is "N items to review", not "N
    reminders": nothing in it is due on a day the message counts to."""
    register = register_of(entry("old", "2001-05-31"), entry("older", "2000-05-31"))
    sub = Subscription("keepers", "https://x.org/h", Format.SLACK, AT, review=True)
    found = delivery.review_reminders(register, sub, AT, AT + timedelta(days=8))
    assert [(r.occurrence.id, r.notice) for r in found] == [
        ("old", Notice.REVIEW), ("older", Notice.REVIEW)]
    assert wording.message_title(found) == "2 items to review for keepers"
    assert render(Format.SLACK, found, register)["blocks"][0] == {"type": "header", "text": {
        "type": "plain_text", "text": "2 items to review for keepers", "emoji": False}}


def test_the_sample_of_a_register_with_nothing_upcoming_is_invented_and_says_so(
        sample: Register) -> None:
    """The sample register's dates are all past or estimated: the test message is about an
    occurrence a week away whose title says it was invented for the test."""
    sub = Subscription("team", "https://x.org/h", Format.SLACK, AT)
    r = service.sample_reminder(sample, sub, AT)
    assert (r.occurrence.entry.title, r.days_left, wording.when(r.occurrence)) == (
        wording.INVENTED, 7, "by 8 June 2027")


# --- which format a URL gets -----------------------------------------------------------------

@pytest.mark.parametrize(("url", "fmt", "why"), [
    (TEAMS_URL, Format.TEAMS, "a Power Automate workflow URL"),
    ("https://prod-12.westus.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef/"
     "triggers/manual/paths/invoke?api-version=2016-06-01&sig=abc", Format.TEAMS,
     "a Power Automate workflow URL on the older logic.azure.com host, which Microsoft is "
     "retiring: if it stops, copy the workflow's new URL"),
    ("https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d", Format.TEAMS,
     "a retired Office 365 connector URL"),
    (DISCORD_URL, Format.DISCORD, "a Discord webhook URL"),
    ("https://discord.com/api/webhooks/123456789012345678/tOkEn/slack", Format.JSON,
     "no chat service recognised in the URL: a signed JSON webhook"),
    (MATTERMOST_URL, Format.MATTERMOST,
     "a Mattermost incoming webhook URL (…/hooks/ and a 26-character id)"),
    ("https://chat.example.org/hooks/commands/xg7q1ybrkf8zjm5wgtf3hbo6ah", Format.JSON,
     "no chat service recognised in the URL: a signed JSON webhook"),
    ("https://hooks.slack.com/services/T0/B0/XYZ", Format.SLACK, "a Slack incoming webhook URL"),
    ("https://hooks.slack.com/triggers/T0/1/abc", Format.JSON,
     "no chat service recognised in the URL: a signed JSON webhook"),
    ("mailto:a@example.org,b@example.org", Format.EMAIL, "mailto: addresses"),
    ("http://127.0.0.1:9000/hook", Format.JSON,
     "no chat service recognised in the URL: a signed JSON webhook"),
])
def test_a_url_gets_its_services_format_and_the_reason(url: str, fmt: Format, why: str) -> None:
    assert channels.guess(url) == (fmt, why)


@pytest.mark.parametrize(("fmt", "url", "problem"), [
    (Format.TEAMS, "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/c/d",
     "url: a retired Office 365 connector (webhook.office.com) no longer posts to Teams: create "
     "a Workflows webhook in the channel instead (the template \"Post to a channel when a "
     "webhook request is received\") and subscribe its URL"),
    (Format.EMAIL, "mailto:", "url: mailto: names no address, such as mailto:team@example.org"),
    (Format.EMAIL, "mailto:a@example.org,not an address",
     "url: 'not an address' is not an e-mail address such as team@example.org"),
    (Format.EMAIL, "mailto:a@example.org?subject=hi",
     "url: mailto: takes addresses only, such as mailto:a@example.org,b@example.org (no "
     "?subject= or other fields)"),
    (Format.EMAIL, "https://x.org/h",
     "url: the email format takes mailto: addresses, such as mailto:team@example.org"),
    (Format.DISCORD, "mailto:a@example.org", "url: not an http:// or https:// URL with a host"),
])
def test_a_url_its_channel_cannot_use_is_refused(fmt: Format, url: str, problem: str) -> None:
    sub = Subscription("team", url, fmt, AT)
    register = register_of(entry("a", "2027-06-08"))
    assert [f"{f}: {m}" for f, m in delivery.subscription_problems(sub, register)] == [problem]


def test_discord_messages_go_to_wait_true_keeping_a_thread() -> None:
    """So that a message Discord could not save is an error, not a silent 204."""
    assert channels.target(Format.DISCORD, DISCORD_URL) == DISCORD_URL + "?wait=true"
    assert channels.target(Format.DISCORD, DISCORD_URL + "?thread_id=9&wait=false") == \
        DISCORD_URL + "?thread_id=9&wait=true"
    assert channels.target(Format.SLACK, DISCORD_URL) == DISCORD_URL


@pytest.mark.parametrize(("url", "shown"), [
    (TEAMS_URL, "https://default52e9a1b2c3d4e5f60718293a4b5c6d75.0b.environment.api"
                ".powerplatform.com:443/powerautomate/…?…"),
    (DISCORD_URL, "https://discord.com/api/…"),
    (MATTERMOST_URL, "https://chat.example.org/hooks/…"),
    ("mailto:a@example.org,b@example.org", "mailto:a@example.org,b@example.org"),
    ("smtp://user:pa55w0rd@mail.example.org:587", "smtp://…@mail.example.org:587"),
])
def test_each_channels_secret_is_masked(url: str, shown: str) -> None:
    assert delivery.mask_url(url) == shown
