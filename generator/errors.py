"""The exception tree and exit codes, in one place.

    ValgenError            could not run (exit 2): bad arguments, unreadable path, unreachable target
     └─ ContentError       content that cannot be loaded at all (names file:line:col)

Findings about content are not exceptions: `generator.check` returns them and the
CLI maps them to exit 1. Library code raises; only `generator.cli` exits.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_NOT_OK = 1
EXIT_COULD_NOT_RUN = 2


class ValgenError(Exception):
    """The command could not do its job. `fix` tells the user what to do."""

    exit_code = EXIT_COULD_NOT_RUN

    def __init__(self, message: str, *, fix: str | None = None, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.where = where

    def render(self) -> str:
        head = f"{self.where}: error: {self.message}" if self.where else f"valgen: error: {self.message}"
        return head + (f"\n  fix: {self.fix}\n" if self.fix else "\n")


class ContentError(ValgenError):
    """Content that cannot be loaded at all."""
