"""`python -m calendar_tool.cli`: the command line, as the `calendar-tool` script runs it."""

from calendar_tool.cli import main

main()
