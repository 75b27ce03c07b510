"""calendar-tool: a register of time-bound commitments, published as feeds and reminders."""

from __future__ import annotations

__version__ = "0.1.0"
