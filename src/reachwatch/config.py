"""Typed, layered settings: defaults < config file < environment (REACHWATCH_*) < flags.

Errors name the setting and every way to set it. Secrets never live in committed files: pass
them through the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from reachwatch.errors import ConfigError

DEFAULT_DB = "reachwatch.db"
CONFIG_ENV = "REACHWATCH_CONFIG"


def config_file() -> Path:
    """The config file: $REACHWATCH_CONFIG, else ./reachwatch.toml (it need not exist)."""
    return Path(os.environ.get(CONFIG_ENV, "reachwatch.toml"))


class Settings(BaseSettings):
    """Every setting reachwatch reads, with its default."""

    model_config = SettingsConfigDict(env_prefix="REACHWATCH_", extra="forbid")

    db: str = Field(
        default=DEFAULT_DB,
        description="A SQLite file path (the embedded default) or a postgresql:// URL.",
    )
    batch_size: int = Field(default=20_000, ge=1, le=200_000, description="Events per ingest transaction.")
    max_payload_bytes: int = Field(
        default=1_048_576, ge=1_024, description="A payload larger than this is quarantined unread."
    )
    keep_deleted_text: bool = Field(
        default=True,
        description="Keep the text of posts their authors deleted (marked deleted); false erases it.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file()))


def load_settings(**flags: Any) -> Settings:
    """Settings from every layer; flags given as None are left to the lower layers."""
    given = {name: value for name, value in flags.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            problems.append(
                f"setting '{name}': {error['msg']}. Set it with --{name.replace('_', '-')}, "
                f"the environment variable REACHWATCH_{name.upper()}, or '{name} = ...' in {config_file()}."
            )
        raise ConfigError("\n".join(problems)) from exc
