"""``--force``, shared by every command that writes a stream: one help text, one meaning."""

from __future__ import annotations

import typer

FORCE_HELP = ("Write even while a process that is not ironwal (a running IronWal application) holds the stream "
              "open. DANGEROUS: its next ids are in its memory and will be given twice. Without it: exit 4.")

ForceOption = typer.Option(False, "--force", help=FORCE_HELP)
