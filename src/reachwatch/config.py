"""Typed, layered settings: defaults < config file < environment (REACHWATCH_*) < flags.

Errors name the setting and every way to set it. Secrets never live in committed files: pass
them through the environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, create_model, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from reachwatch.connectors import platform
from reachwatch.errors import ConfigError

DEFAULT_DB = "reachwatch.db"
CONFIG_ENV = "REACHWATCH_CONFIG"


def config_file() -> Path:
    """The config file: $REACHWATCH_CONFIG, else ./reachwatch.toml (it need not exist)."""
    return Path(os.environ.get(CONFIG_ENV, "reachwatch.toml"))


class CollectSettings(BaseModel, extra="forbid"):
    max_post_age_days: float = Field(default=7.0, gt=0, description="Posts older than this are not polled.")
    engagers_per_post_pages: int = Field(default=20, ge=1, description="Pages of likes/reposts per poll.")


class PrivacySettings(BaseModel, extra="forbid"):
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key of the engagers' pseudonyms (HMAC); unset: one is made per store at first use.",
    )
    public_followers: int = Field(
        default=100_000,
        ge=0,
        description="Accounts with this audience or more are public figures, shown by name.",
    )


class RetentionSettings(BaseModel, extra="forbid"):
    enabled: bool = Field(
        default=False,
        description="Delete data past its period (off by default: nothing is deleted until this is set).",
    )
    engagement_days: float | None = Field(
        default=90.0,
        gt=0,
        description="Engagements by non-watched accounts collected longer ago than this are deleted.",
    )
    raw_days: float | None = Field(
        default=30.0,
        gt=0,
        description="Raw payloads collected longer ago than this are deleted (records stay).",
    )
    quarantine_days: float | None = Field(
        default=180.0, gt=0, description="Resolved quarantine items older than this are deleted."
    )
    every_hours: float = Field(
        default=24.0, ge=0, description="How often `reachwatch serve` runs the retention job; 0: never."
    )
    confirm_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="A run that would delete more than this share of a data class needs `--yes`.",
    )


class OversightSettings(BaseModel, extra="forbid"):
    hourly_rate: float = Field(
        default=0.0, ge=0, description="Cost of an officer hour, for the oversight report."
    )
    currency: str = Field(default="GBP", description="Currency of the hourly rate.")


class AlertSettings(BaseModel, extra="forbid"):
    rules_file: str | None = Field(
        default=None, description="A YAML rules file loaded at start when the store has no rules yet."
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts on loopback or internal networks that webhook and e-mail channels may reach.",
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description="Default HMAC-SHA256 key of webhook signatures (a channel may name its own).",
    )


class BusSettings(BaseModel, extra="forbid"):
    """NATS JetStream, for running collectors, enrich workers and writers as separate processes
    (`reachwatch worker …`). Credentials come from the environment (REACHWATCH_BUS__PASSWORD, …)."""

    url: str = Field(default="nats://127.0.0.1:4222", description="The NATS server(s), comma-separated.")
    prefix: str = Field(
        default="reachwatch", description="Names the streams and subjects (one per deployment)."
    )
    client_name: str = Field(default="reachwatch", description="How workers name themselves to NATS.")
    user: str | None = Field(default=None, description="NATS user name.")
    password: SecretStr | None = Field(default=None, description="NATS password (from the environment).")
    token: SecretStr | None = Field(default=None, description="NATS token (from the environment).")
    creds_file: str | None = Field(default=None, description="A NATS .creds file (NKey/JWT).")
    raw_max_bytes: int = Field(
        default=2 * 1024**3, ge=1024, description="Raw payloads the stream holds; when full, collectors wait."
    )
    raw_max_msgs: int = Field(default=-1, description="Raw payloads the stream holds (-1: bytes alone).")
    canon_max_bytes: int = Field(
        default=2 * 1024**3, ge=1024, description="Enriched batches waiting for a writer."
    )
    dead_max_bytes: int = Field(
        default=256 * 1024**2, ge=1024, description="Dead letters awaiting the quarantine."
    )
    duplicate_window_s: float = Field(
        default=120.0, gt=0, description="A message republished with the same id within this is dropped."
    )
    ack_wait_s: float = Field(
        default=30.0,
        gt=0,
        description="Unacknowledged this long (a killed worker), a message goes to another.",
    )
    max_ack_pending: int = Field(
        default=20_000, ge=1, description="Messages out with workers at once, per consumer."
    )
    max_deliveries: int = Field(
        default=5, ge=1, description="Delivered this often without success, a message becomes a dead letter."
    )
    batch_size: int = Field(
        default=1_000, ge=1, le=50_000, description="Messages an enrich worker takes at once."
    )


class CoreSettings(BaseSettings):
    """Every setting reachwatch reads, with its default, but the platforms' sections."""

    model_config = SettingsConfigDict(env_prefix="REACHWATCH_", env_nested_delimiter="__", extra="forbid")

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
    embedding_model: str = Field(
        default="models/all-MiniLM-L6-v2-int8",
        description="Directory of the sentence-embedding model (made by `make models`).",
    )
    display_timezone: str = Field(
        default="UTC",
        description="The time zone pages show times in (an IANA name such as Europe/London); each user "
        "can choose their own in the page header. Exports and the API stay in UTC.",
    )
    web_secure_cookies: bool = Field(
        default=False,
        description="Mark the session cookie Secure even over plain HTTP (it is always Secure over HTTPS).",
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="Key of the audit log's MACs (REACHWATCH_AUDIT_KEY), kept outside the store: "
        "with it, an entry forged by someone with only the database fails `audit verify`.",
    )
    cli_user: str | None = Field(
        default=None,
        description="The name the command line acts and is audited under (default: cli:<login name>).",
    )
    cli_role: Literal["viewer", "analyst", "supervisor", "auditor", "admin"] = Field(
        default="analyst", description="The role the command line acts with."
    )
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone name (e.g. UTC, Europe/London)") from exc
        return value

    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    oversight: OversightSettings = Field(default_factory=OversightSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    collect: CollectSettings = Field(default_factory=CollectSettings)
    bus: BusSettings = Field(default_factory=BusSettings)
    # ... and one section per installed platform (its settings model), added below.

    def platform_sections(self) -> dict[str, BaseModel]:
        """Each installed platform's settings section, by platform name."""
        return {name: getattr(self, name) for name in platform.registered()}

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


def _with_platforms() -> type[CoreSettings]:
    """The settings class: the core settings plus a `[<platform>]` section per installed platform,
    typed by the platform's own settings model."""
    sections: dict[str, Any] = {
        name: (found.settings_model, Field(default_factory=found.settings_model, description=found.label))
        for name, found in platform.registered().items()
    }
    return create_model("Settings", __base__=CoreSettings, __module__=__name__, **sections)


if TYPE_CHECKING:
    Settings = CoreSettings
else:
    Settings = _with_platforms()


def resolve_model_dir(configured: str) -> Path:
    """A model directory as configured: absolute as it is; relative, from the configuration file's
    folder, else from the installation (the project folder `make models` writes into) — never
    from whichever folder the command happens to run in. Always an absolute path, so an error
    names the full path."""
    path = Path(configured).expanduser()
    if path.is_absolute():
        return path
    installed = Path(__file__).resolve().parents[2] / path
    config = config_file()
    beside_config = config.resolve().parent / path if config.is_file() else None
    for candidate in (beside_config, installed):
        if candidate is not None and candidate.exists():
            return candidate
    return beside_config or installed


def load_settings(**flags: Any) -> Settings:
    """Settings from every layer; flags given as None are left to the lower layers."""
    given = {name: value for name, value in flags.items() if value is not None}
    try:
        found = Settings(**given)
        found.embedding_model = str(resolve_model_dir(found.embedding_model))
        return found
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"])
            env = "REACHWATCH_" + name.upper().replace(".", "__")
            where = f"[{name.rsplit('.', 1)[0]}] {name.rsplit('.', 1)[1]}" if "." in name else name
            flag = f"--{name.replace('_', '-')}, " if "." not in name else ""
            problems.append(
                f"setting '{name}': {error['msg']}. Set it with {flag}"
                f"the environment variable {env}, or '{where} = ...' in {config_file()}."
            )
        raise ConfigError("\n".join(problems)) from exc
