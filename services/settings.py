"""Typed settings tree, read from PLEDGEWATCH_* environment variables and an optional .env file."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# Secrets that ship in the repository so `make run` works out of the box. Anything outside dev
# mode that still uses one of them is refused at start-up.
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"  # noqa: S105
DEV_LIEN_KEY_SECRET = "dev-only-lien-key-secret-change-me"  # noqa: S105
DEV_SALT_SECRET = "dev-only-commitment-salt-change-me"  # noqa: S105


class Mode(StrEnum):
    """How strict start-up checks are."""

    DEV = "dev"
    PRODUCTION = "production"


class LedgerKind(StrEnum):
    """Which ledger adapter the service talks to."""

    EMBEDDED = "embedded"
    FABRIC = "fabric"


class DatabaseSettings(BaseModel):
    """Where the relational state lives."""

    url: str = "sqlite:///var/pledgewatch.db"
    echo: bool = False


class AuthSettings(BaseModel):
    """Token issuance for people; API keys for machines."""

    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithm: str = "HS256"
    token_minutes: int = 60


class LedgerSettings(BaseModel):
    """Ledger adapter choice and the embedded ledger's signing keys."""

    kind: LedgerKind = LedgerKind.EMBEDDED
    key_dir: Path = Path("var/ledger-keys")
    # Fabric: the network's connection file (written by `pledgewatch fabric up`) and the MSP
    # identities this service instance holds (empty: every organisation in the file).
    fabric_connection: Path = Path(".cache/fabric/network/connection.json")
    fabric_msp_ids: list[str] = Field(default_factory=list)
    lien_key_secret: str = DEV_LIEN_KEY_SECRET
    commitment_salt: str = DEV_SALT_SECRET


class ApiSettings(BaseModel):
    """Where the HTTP API listens."""

    host: str = "127.0.0.1"
    port: int = 8000


class MqttSettings(BaseModel):
    """The MQTT broker tag readers publish to, and whether `run` starts one and the worker."""

    url: str = "mqtt://127.0.0.1:1883"
    # Dev only: `run` starts an in-process amqtt broker at `url` instead of expecting Mosquitto.
    embedded_broker: bool = True
    # amqtt speaks MQTT 3.1.1 only; set "v5" for Mosquitto.
    protocol: Literal["v5", "v311"] = "v311"
    ingest_enabled: bool = True


class _EnvSource(EnvSettingsSource):
    """Environment variables, plus the shorthand PLEDGEWATCH_LEDGER=fabric|embedded."""

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        """Read a bare ledger kind as the ledger's `kind`; everything else as usual."""
        kinds = {k.value for k in LedgerKind}
        if field_name == "ledger" and isinstance(value, str) and value.strip() in kinds:
            # Nested PLEDGEWATCH_LEDGER__* variables still apply on top of the shorthand.
            nested = super().prepare_field_value(field_name, field, None, value_is_complex)
            return {"kind": value.strip(), **(nested or {})}
        return super().prepare_field_value(field_name, field, value, value_is_complex)


class Settings(BaseSettings):
    """The whole configuration; nested fields use `__`, e.g. PLEDGEWATCH_DB__URL."""

    model_config = SettingsConfigDict(
        env_prefix="PLEDGEWATCH_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    mode: Mode = Mode.DEV
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    jobs_enabled: bool = True

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then the environment (with the ledger shorthand), then .env."""
        return (init_settings, _EnvSource(settings_cls), dotenv_settings, file_secret_settings)

    @model_validator(mode="after")
    def _refuse_dev_secrets_outside_dev(self) -> Settings:
        if self.mode is Mode.DEV:
            return self
        defaults = {
            "auth.jwt_secret": (self.auth.jwt_secret, DEV_JWT_SECRET),
            "ledger.lien_key_secret": (self.ledger.lien_key_secret, DEV_LIEN_KEY_SECRET),
            "ledger.commitment_salt": (self.ledger.commitment_salt, DEV_SALT_SECRET),
        }
        still_default = [name for name, (value, dev) in defaults.items() if value == dev]
        if still_default:
            raise ValueError(
                "refusing to start outside dev mode with the built-in dev secrets for: "
                + ", ".join(still_default)
            )
        short = [name for name, (value, _) in defaults.items() if len(value) < 32]
        if short:
            raise ValueError("secrets must be at least 32 characters: " + ", ".join(short))
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
