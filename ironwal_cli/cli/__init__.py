"""The typer command line: thin modules that parse arguments, call ``ops`` and render results."""
