"""Calendars for subscribers.

Owns: occurrences to RFC 5545 bytes (`ical`, the only importer of icalendar), each entry's
revision (SEQUENCE and LAST-MODIFIED, `revisions`), the content hashes and the last run's
events kept on disk between processes (`kept`), and the feeds folder written atomically and
only where bytes change (`publishing`).

May import: model, timeline, wording, clock, errors, files.
"""

from __future__ import annotations

from calendar_tool.feeds.ical import FeedInfo, message_calendar, uid
from calendar_tool.feeds.kept import EventFile, HashFile
from calendar_tool.feeds.publishing import (
    FEED_FILE,
    INDEX_NAME,
    EventCache,
    FeedResult,
    FeedSpec,
    PublishedIndex,
    PublishReport,
    Selection,
    feed_occurrences,
    feed_specs,
    feeds_missing,
    publish,
    read_index,
    selected_feed,
)
from calendar_tool.feeds.revisions import Hashes, content_hash, next_revisions

__all__ = [
    "FEED_FILE",
    "INDEX_NAME",
    "EventCache",
    "EventFile",
    "FeedInfo",
    "FeedResult",
    "FeedSpec",
    "HashFile",
    "Hashes",
    "PublishReport",
    "PublishedIndex",
    "Selection",
    "content_hash",
    "feed_occurrences",
    "feed_specs",
    "feeds_missing",
    "message_calendar",
    "next_revisions",
    "publish",
    "read_index",
    "selected_feed",
    "uid",
]
