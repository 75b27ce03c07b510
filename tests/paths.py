"""Where the test inputs are: the real register, the fixtures and the source texts."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAMPLE = FIXTURES / "sample.yaml"
REGISTER = ROOT / "obligations.yaml"
# CI clones the project with shared/ beside it, as on a developer's machine.
SEEDS = ROOT.parent / "shared" / "seeds"
