"""The pages in a real browser: Debian's Chromium, headless, driven by Playwright, against the
real server on 127.0.0.1, at a desktop width (1280 px) and a phone's (390 px). One browser
for the module; each test a fresh context.

What is checked: what is due comes before the list of feeds; the filters (a plain form,
kept in the address) and the subscribe action for what they select, whose feed holds the
events it counts; the timeline at 390 px (its row labels in view, today in view); the page
without JavaScript; Tab reaching and operating everything; and axe-core (from npm,
node_modules/axe-core) finding no serious or critical violation on the home page, an entry
page, the page of one occurrence of a series (where reminders and feed events lead), a
filtered view and the error page. Each of those five pages is also written, at each width, as
a screenshot into test-artifacts/ (README, "Serving"), for a person to look at.

Chromium missing stops the session before it starts, with one line (tests/conftest.py), never a
skip: `make test` installs Debian's (scripts/services); CALENDAR_TOOL_TEST_CHROMIUM names another.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from calendar_tool import delivery, service, store
from calendar_tool.clock import FixedClock
from calendar_tool.model import Format, Subscription
from calendar_tool.timeline import occurrences
from calendar_tool.web import server
from tests.conftest import CLI
from tests.parsers import vobject_events
from tests.paths import ROOT, SAMPLE
from tests.registers import load_register

# A day in May 2025: the Commission's 34th session, expected in May 2025 (the month the tenth
# met), is within the next 90 days, its 35th within the next 12 months.
TODAY = "2025-05-20"
NOW = datetime(2025, 5, 20, tzinfo=UTC)
PUBLIC = "https://calendar.example.org"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Screenshots of the pages, one per page and width: git-ignored, named in the README.
ARTIFACTS = ROOT / "test-artifacts"
WIDTHS: dict[str, ViewportSize] = {"desktop": {"width": 1280, "height": 900},
                                   "phone": {"width": 390, "height": 844}}
# The occurrence's page is the one every reminder and every feed event of a session links to.
PAGES = {"home": "/", "entry": "/obligations/commission-sessions",
         "occurrence": "/obligations/commission-sessions%2310",
         "filtered": "/?area=governance&kind=report", "error": "/obligations/nope"}


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample register published on 2025-05-20 and served with that day as today."""
    root = tmp_path_factory.mktemp("browser")
    engine = store.open_store(f"sqlite:///{root / 'store.db'}")
    service.publish_feeds(engine, load_register(SAMPLE), root / "feeds", FixedClock(NOW),
                          link_base=PUBLIC)
    app = server.make_app(register=SAMPLE, feeds=root / "feeds", db=engine,
                          clock=FixedClock(NOW), public_url=PUBLIC)
    with server.BackgroundServer(app) as running:
        yield running.url
    engine.dispose()


def _context_page(browser: Browser, url: str, width: str, **options: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=WIDTHS[width], **options)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    yield context.new_page()
    context.close()


@pytest.fixture(params=list(WIDTHS))
def page(request: pytest.FixtureRequest, browser: Browser, url: str) -> Iterator[Page]:
    """A page at each width (1280 and 390 px)."""
    yield from _context_page(browser, url, request.param)


@pytest.fixture
def phone(browser: Browser, url: str) -> Iterator[Page]:
    yield from _context_page(browser, url, "phone")


def _ids(page: Page, section: str) -> list[str]:
    ids: list[str] = page.locator(f"#{section} li.item").evaluate_all(
        "items => items.map(li => li.dataset.id)")
    return ids


def _listed(cli: CLI, *args: str) -> list[dict[str, Any]]:
    result = cli("list", "--format", "json", "--today", TODAY, *args)
    assert result.exit_code == 0, result.stderr
    listed: list[dict[str, Any]] = json.loads(result.stdout)
    return listed


def _top(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["y"]


def test_what_is_due_comes_before_the_feed_list(page: Page, url: str) -> None:
    """At 1280 and at 390 px, the page opens on what is due: the next 90 days start within
    the first screen, and the three lists of what is due stand above the list of feeds."""
    page.goto(f"{url}/")
    height = page.viewport_size["height"] if page.viewport_size else 0
    soon, later, overdue, feeds = (_top(page, f"#{name}") for name in
                                   ("soon", "later", "overdue", "feeds"))
    assert soon < later < overdue < feeds
    assert soon < height
    assert page.locator("#soon li.item").first.is_visible()


def test_a_filtered_view_subscribes_to_its_own_feed(page: Page, url: str, cli: CLI) -> None:
    """Choosing an area and a kind in the form loads /?area=…&kind=… (the empty filter left
    out), lists what `list` gives for those filters, and offers that selection's feed: its
    webcal:// link is the filtered feed's address, its Google link takes that address, the
    address to copy is the https one, and the count it shows is the number of events the
    feed holds, which are exactly the dated ones `list` gives."""
    page.goto(f"{url}/")
    page.select_option("select[name=area]", "governance")
    page.select_option("select[name=kind]", "report")
    page.click("#filters button[type=submit]")
    page.wait_for_url(f"{url}/?area=governance&kind=report")
    args = ["--area", "governance", "--kind", "report"]
    assert _ids(page, "overdue") == [o["id"] for o in _listed(cli, "--overdue", *args)]
    assert page.locator("#subscribe h2").inner_text() == \
        "Subscribe to Programme governance; reports"
    query = "area=governance&kind=report"
    webcal = page.locator("#subscribe a.webcal").get_attribute("href")
    assert webcal == f"webcal://calendar.example.org/feeds/all.ics?{query}"
    assert page.locator("#subscribe a.google").get_attribute("href") == \
        "https://calendar.google.com/calendar/render?cid=" + quote(webcal, safe="")
    assert page.locator("#subscribe input.url").input_value() == \
        f"https://calendar.example.org/feeds/all.ics?{query}"
    # The same address on this server (the public URL names where subscribers reach it).
    feed = httpx.get(webcal.replace("webcal://calendar.example.org", url)).content
    uids = [e["uid"] for e in vobject_events(feed)]
    assert uids == [f"{o['id']}@calendar-tool" for o in _listed(cli, *args)
                    if o["date"] is not None]
    assert page.locator("#subscribe .count").inner_text() == f"{len(uids)} events"


def test_the_page_works_without_javascript(browser: Browser, url: str, cli: CLI) -> None:
    """With JavaScript off, the filter form still filters (the server renders the
    selection) and the subscribe links are there; only the copy button, which needs the
    script, stays hidden."""
    for page in _context_page(browser, url, "desktop", java_script_enabled=False):
        page.goto(f"{url}/")
        page.select_option("select[name=actor]", "member-states")
        page.click("#filters button[type=submit]")
        page.wait_for_url(f"{url}/?actor=member-states")
        assert _ids(page, "overdue") == [o["id"] for o in _listed(cli, "--overdue", "--actor",
                                                                  "member-states")]
        assert page.locator("#subscribe a.webcal").get_attribute("href") == \
            "webcal://calendar.example.org/feeds/all.ics?actor=member-states"
        assert page.locator("button[data-copy]").is_hidden()


def test_an_address_of_the_earlier_page_opens_the_same_selection(page: Page, url: str) -> None:
    """A bookmark of the earlier page (#area=…&actor=…, filtered in the browser) opens the
    same selection as query parameters."""
    page.goto(f"{url}/#area=trafficking&actor=member-states")
    page.wait_for_url(f"{url}/?area=trafficking&actor=member-states")
    assert page.locator("select[name=area]").input_value() == "trafficking"


def test_the_timeline_on_a_phone_keeps_its_labels_and_opens_at_today(phone: Page,
                                                                      url: str) -> None:
    """At 390 px the timeline's row labels stay in view beside a plot that scrolls, and the
    plot opens scrolled to today, whose line is in view; nothing on the page is wider than
    the screen."""
    phone.goto(f"{url}/")
    phone.locator("#timeline").scroll_into_view_if_needed()
    labels = phone.locator("svg.tl-labels .tl-label")
    assert labels.evaluate_all("ts => ts.map(t => t.firstChild.nodeValue)") == \
        ["Victims of crime", "Trafficking in persons", "Programme governance"]
    column = phone.locator("svg.tl-labels").bounding_box()
    assert column is not None and column["x"] >= 0 and column["x"] + column["width"] <= 390
    for i in range(labels.count()):
        box = labels.nth(i).bounding_box()
        assert box is not None and 0 <= box["x"] < column["x"] + column["width"]
    scroller = phone.locator(".tl-scroll")
    assert scroller.evaluate("s => s.scrollWidth > s.clientWidth")  # it does scroll here
    assert scroller.evaluate("s => s.scrollLeft") > 0  # and opened away from the first year
    view = scroller.bounding_box()
    today = phone.locator(".tl-today").bounding_box()
    assert view is not None and today is not None
    assert view["x"] <= today["x"] <= view["x"] + view["width"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390


def _tab_stops(page: Page, most: int = 200) -> list[str]:
    """What Tab reaches, from the top of the page until focus leaves it, each as
    tag#id.class[name] or its text."""
    stops: list[str] = []
    for _ in range(most):
        page.keyboard.press("Tab")
        found = page.evaluate("""() => {
            const e = document.activeElement;
            if (!e || e === document.body) return null;
            const name = e.getAttribute("name") || e.getAttribute("data-copy") || "";
            const cls = typeof e.className === "string" ? e.className : e.className.baseVal;
            return `${e.tagName.toLowerCase()}.${cls.split(" ")[0]}[${name}]`;
        }""")
        if found is None:
            break
        stops.append(found)
    return stops


def test_the_keyboard_reaches_and_operates_everything(page: Page, url: str) -> None:
    """Tab reaches, in order: the skip link, the three filters and their button, the
    subscribe links, the address and its copy button, every item, every feed (with its
    address, shown on a desktop), every mark of the timeline and the footer; and the
    keyboard alone filters (arrow keys in a select, Enter on the button) and copies the
    address."""
    page.goto(f"{url}/")
    stops = _tab_stops(page)
    assert stops[:9] == ["a.skip[]", "select.[area]", "select.[actor]", "select.[kind]",
                         "button.[]", "a.button[]", "a.button[]", "input.url[]",
                         "button.[subscribe-url]"]
    items = page.locator("li.item a.title").count()
    feeds = page.locator("a.webcal").count() - 1  # the subscribe action's is counted above
    marks = page.locator("a.tl-mark").count()
    feed = ["a.webcal[]", "a.https[]"] if page.locator("a.https").first.is_visible() \
        else ["a.webcal[]"]
    assert stops[9:] == (["a.title[]"] * items + feed * feeds + ["a.tl-mark[]"] * marks
                         + ["a.[]", "a.[]"])
    assert (items, feeds, marks) == (7, 7, 59)

    page.keyboard.press("Tab")  # back to the top: the skip link, then the area filter
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "area"
    page.keyboard.press("ArrowDown")  # All areas -> Victims of crime
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.type") == "submit"
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/?area=victims")
    page.focus("button[data-copy]")
    page.keyboard.press("Enter")
    expect(page.locator("button[data-copy]")).to_have_text("Copied", timeout=5000)
    assert page.evaluate("navigator.clipboard.readText()") == \
        "https://calendar.example.org/feeds/all.ics?area=victims"


def test_an_entry_page_subscribes_to_its_area(page: Page, url: str) -> None:
    """An entry's page shows every quote with its citation, and a button that subscribes to
    its area's selection, the one the home page gives for that area."""
    page.goto(f"{url}/obligations/victims-review")
    assert page.locator("#subscribe a.webcal").get_attribute("href") == \
        "webcal://calendar.example.org/feeds/all.ics?area=victims"
    assert page.locator("#subscribe a.webcal").inner_text() == "Subscribe to Victims of crime"
    assert page.locator("#sources .citation").all_inner_texts() == \
        ["A/RES/55/59 para. 27 — Vienna Declaration on Crime and Justice"]


def test_a_message_about_a_session_opens_the_page_of_that_session(page: Page, url: str) -> None:
    """A chat message names an occurrence of a series ("… (no. 10)"); its link opens that
    occurrence's page, not the series' with every session on it (in a real browser)."""
    register = load_register(SAMPLE)
    session = next(o for o in occurrences(register, date(2006, 12, 31))
                   if o.id == "commission-sessions#10")
    sub = Subscription("team", "https://chat.example.org/hooks/x", Format.MATTERMOST, NOW)
    reminder = delivery.occurrence_reminders(sub, session, register)[0]
    text = json.loads(delivery.render(Format.MATTERMOST, [reminder], register, url))["text"]
    link = re.findall(r"\]\((http[^)]*)\)", text)[0]  # the heading's; then the source's
    assert link == f"{url}/obligations/commission-sessions%2310"
    answer = page.goto(link)
    assert answer is not None and answer.status == 200
    assert page.locator("#dates li.occurrence").evaluate_all("items => items.map(i => i.id)") \
        == ["occurrence-commission-sessions#10"]


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_or_critical_accessibility_violation(browser: Browser, url: str,
                                                        name: str, width: str) -> None:
    """axe-core finds no serious or critical violation on the home page, an entry page, an
    occurrence's page, a filtered view and the error page, at 1280 and at 390 px; each is
    written as a screenshot into test-artifacts/. (axe is injected as a script, which the
    pages' content security policy would refuse: this context bypasses it; the page-load test
    keeps it.)"""
    for page in _context_page(browser, url, width, bypass_csp=True):
        response = page.goto(f"{url}{PAGES[name]}")
        assert response is not None
        assert response.status == (404 if name == "error" else 200)
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        results = page.evaluate("axe.run()")
        found = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]])
                 for v in results["violations"] if v["impact"] in ("serious", "critical")]
        assert found == []
        assert len(results["passes"]) > 20  # axe did run its rules
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / f"{name}-{WIDTHS[width]['width']}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pages_load_clean_under_their_security_policy(browser: Browser, url: str) -> None:
    """Each of the five pages loads at both widths without a console error (nothing blocked
    by the content security policy, no script error), and nothing is wider than the screen
    (the timeline scrolls in its own box)."""
    errors: list[str] = []
    for width in WIDTHS:
        for page in _context_page(browser, url, width):

            def record(message: ConsoleMessage) -> None:
                # The error page's own 404 is the status asked for, not a fault.
                if message.type == "error" and "404" not in message.text:
                    errors.append(message.text)

            page.on("console", record)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            for path in PAGES.values():
                page.goto(f"{url}{path}")
                assert page.evaluate("document.documentElement.scrollWidth") <= \
                    WIDTHS[width]["width"], (width, path)
    assert errors == []
