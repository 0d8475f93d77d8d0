"""``smartclass config show``: print the merged configuration (defaults ← YAML ← key=value)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    config_app = typer.Typer(help="Inspect the merged configuration.", no_args_is_help=True)

    @config_app.command("show")
    def show(
        overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides, e.g. synth.frames=64"),
        config: Optional[Path] = typer.Option(None, "--config", "-c", help="YAML file merged over the defaults"),
    ) -> None:
        """Print the merged config as YAML."""
        from smartclass.config import dump_config, load_config

        typer.echo(dump_config(load_config(config, overrides or ())), nl=False)

    app.add_typer(config_app, name="config")
