"""The command line: Typer commands over the service layer; the only place Rich is used."""
