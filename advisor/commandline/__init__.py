"""The command line's parts: its reader, the Typer app, command groups, the help cache."""
