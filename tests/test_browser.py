"""The subscribe page in a real browser: Debian's Chromium, headless, driven by Playwright,
against the real server on 127.0.0.1. One browser for the module; each test a fresh context.

Chromium missing stops the session before it starts, with one line (tests/conftest.py), never a
skip: `make test` installs Debian's (scripts/services); CALENDAR_TOOL_TEST_CHROMIUM names another.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from calendar_tool import service, store
from calendar_tool.clock import FixedClock
from calendar_tool.web import server
from tests.conftest import CLI
from tests.paths import SAMPLE
from tests.registers import load_register

TODAY = "2025-06-01"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
PUBLIC = "https://calendar.example.org"


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sample register published on 2025-06-01 and served with that day as today."""
    root = tmp_path_factory.mktemp("browser")
    engine = store.open_store(f"sqlite:///{root / 'store.db'}")
    service.publish_feeds(engine, load_register(SAMPLE), root / "feeds", FixedClock(NOW))
    app = server.make_app(register=SAMPLE, feeds=root / "feeds", db=engine,
                          clock=FixedClock(NOW), public_url=PUBLIC)
    with server.BackgroundServer(app) as running:
        yield running.url
    engine.dispose()


@pytest.fixture
def page(browser: Browser, url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=url)
    yield context.new_page()
    context.close()


def _visible_ids(page: Page, section: str) -> list[str]:
    ids: list[str] = page.locator(f"#{section}-list > li:visible").evaluate_all(
        "items => items.map(li => li.dataset.id)")
    return ids


def _listed(cli: CLI, *args: str) -> list[dict[str, Any]]:
    result = cli("list", "--format", "json", "--today", TODAY, *args)
    assert result.exit_code == 0, result.stderr
    listed: list[dict[str, Any]] = json.loads(result.stdout)
    return listed


def test_filters_hide_what_is_not_selected_without_reloading(page: Page, url: str,
                                                             cli: CLI) -> None:
    """Choosing an area, then an actor, leaves visible exactly the items `list` gives for
    that area and actor, dims the other marks of the timeline, and records the choice in
    the address; the page is not loaded again."""
    page.goto(f"{url}/")
    # The session of 2025 is expected in May, the month the tenth met: past on 1 June.
    assert _visible_ids(page, "upcoming") == ["commission-sessions#35"]
    assert len(_visible_ids(page, "overdue")) == 5
    page.evaluate("window.loadedOnce = true")

    page.select_option("#filter-area", "victims")
    assert _visible_ids(page, "upcoming") == []
    assert page.locator("#upcoming .empty").is_visible()
    assert _visible_ids(page, "overdue") == ["victims-review"]
    assert page.locator("#overdue-list > li:visible a.title").all_inner_texts() == \
        ["Review practices relating to victims of crime"]
    assert page.locator("#overdue .count").inner_text() == "1 of 5"
    assert page.locator(".tl-mark:not(.dim)").count() == 1

    page.select_option("#filter-area", "governance")
    page.select_option("#filter-actor", "secretary-general")
    want = [o["id"] for o in _listed(cli, "--overdue", "--area", "governance", "--actor",
                                     "secretary-general")]
    assert want == ["intersessional-document", "report-tenth-session", "tenth-session-month",
                    "biennium"]
    assert _visible_ids(page, "overdue") == want
    assert _visible_ids(page, "upcoming") == []
    assert page.url == f"{url}/#area=governance&actor=secretary-general"
    assert page.evaluate("window.loadedOnce") is True  # filtered in place, never reloaded

    page.select_option("#filter-area", "")
    page.select_option("#filter-actor", "")
    assert len(_visible_ids(page, "overdue")) == 5
    assert page.url == f"{url}/"


def test_a_filter_in_the_address_is_applied_on_load(page: Page, url: str) -> None:
    """Opening an address with #area=… shows that selection at once."""
    page.goto(f"{url}/#area=trafficking")
    assert page.locator("#filter-area").input_value() == "trafficking"
    assert _visible_ids(page, "overdue") == []
    assert page.locator("#overdue .count").inner_text() == "0 of 5"


def test_subscribe_link_and_copy_button(page: Page, url: str) -> None:
    """Each feed has a one-click webcal:// link and a button that copies its https URL."""
    page.goto(f"{url}/")
    link = page.locator('li[data-feed="area-victims"] a.webcal')
    assert link.get_attribute("href") == "webcal://calendar.example.org/feeds/area-victims.ics"
    assert link.inner_text() == "Victims of crime – Sample register"
    assert page.locator("a.webcal").evaluate_all("links => links.map(a => a.href)") == [
        f"webcal://calendar.example.org/feeds/{name}.ics" for name in (
            "all", "area-victims", "area-trafficking", "area-governance",
            "actor-member-states", "actor-commission", "actor-secretary-general")]
    button = page.locator('button[data-copy="url-area-victims"]')
    button.click()
    # The clipboard answers asynchronously: wait for the label (up to 5 s), do not sample it.
    expect(button).to_have_text("Copied", timeout=5000)
    assert page.evaluate("navigator.clipboard.readText()") == \
        "https://calendar.example.org/feeds/area-victims.ics"


def test_page_loads_clean_and_fits_a_phone(browser: Browser, url: str,
                                           tmp_path: Path) -> None:
    """On a phone-sized screen the page loads without a console error (nothing blocked by
    its content security policy), nothing is wider than the screen (the timeline scrolls in
    its own box), and screenshots are PNG files."""
    errors: list[str] = []
    shots = []
    for name, viewport in (("desktop", {"width": 1100, "height": 900}),
                           ("phone", {"width": 390, "height": 844})):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()

        def record(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(message.text)

        page.on("console", record)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{url}/")
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        assert page.locator("#filters").is_visible()
        shot = tmp_path / f"home-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        shots.append(shot)
        context.close()
    assert errors == []
    for shot in shots:
        assert shot.is_file()
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 10_000
