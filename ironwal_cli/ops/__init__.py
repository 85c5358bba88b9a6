"""Plain functions behind every command: typed arguments in, data out. No printing, no typer."""
