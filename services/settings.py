"""Typed settings tree, read from PLEDGEWATCH_* environment variables and an optional .env file."""

from __future__ import annotations

from decimal import Decimal
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
    # Connection pool per process (PostgreSQL; SQLite opens a connection per use).
    pool_size: int = Field(default=5, ge=1)
    max_overflow: int = Field(default=10, ge=0)
    pool_timeout_s: float = Field(default=30.0, gt=0)
    # Recycle before typical load-balancer/firewall idle cut-offs drop the connection.
    pool_recycle_s: int = Field(default=1800, ge=-1)


class AuthSettings(BaseModel):
    """Token issuance for people; API keys for machines."""

    jwt_secret: str = DEV_JWT_SECRET
    jwt_algorithm: str = "HS256"
    token_minutes: int = 60
    # Secrets rotated out: tokens they signed still verify (by key id) until they expire.
    # PLEDGEWATCH_AUTH__JWT_PREVIOUS_SECRETS is a JSON list; drop a secret a token-lifetime later.
    jwt_previous_secrets: list[str] = Field(default_factory=list)
    # Sliding-window login throttle: failures per username from one address, and per address.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_window_seconds: float = Field(default=300.0, gt=0)


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
    # Largest request body any route takes (413 problem+json beyond it); EPCIS documents and
    # CSV imports are the largest ordinary bodies.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # Vision reports carry a snapshot and a clip in base64 (up to 8 MB and 60 MB by schema).
    max_evidence_body_bytes: int = Field(default=96 * 1024 * 1024, ge=1024)


class MqttSettings(BaseModel):
    """The MQTT broker tag readers publish to, and whether `run` starts one and the worker."""

    url: str = "mqtt://127.0.0.1:1883"
    # Dev only: `run` starts an in-process amqtt broker at `url` instead of expecting Mosquitto.
    embedded_broker: bool = True
    # amqtt speaks MQTT 3.1.1 only; set "v5" for Mosquitto.
    protocol: Literal["v5", "v311"] = "v311"
    ingest_enabled: bool = True
    # MQTT v5 shared subscription group: workers in one group split the reads ($share/<group>/...).
    share_group: str = ""


ReadinessCheck = Literal["db", "broker", "ledger"]
READINESS_CHECKS: tuple[ReadinessCheck, ...] = ("db", "broker", "ledger")


class ObservabilitySettings(BaseModel):
    """Logs, metrics and the probes of each process."""

    log_level: str = "INFO"
    # Readiness checks this process runs at /readyz: any of db, broker, ledger.
    readiness_checks: list[ReadinessCheck] = Field(default_factory=lambda: list(READINESS_CHECKS))
    # Port of /healthz, /readyz and /metrics for processes that serve no API.
    probe_port: int = 9464


class ToleranceBand(BaseModel):
    """How far a count may stray: the larger of an absolute band and a share of the reference."""

    model_config = {"extra": "forbid"}

    absolute: Decimal = Field(default=Decimal(0), ge=0)
    relative: Decimal = Field(default=Decimal(0), ge=0, lt=1)


class ReconcileSettings(BaseModel):
    """Reconciliation tolerances and how long a bay settles after an event before it is counted.

    PLEDGEWATCH_RECONCILE__TOLERANCES is JSON: commodity code -> {"absolute", "relative"}.
    """

    tolerances: dict[str, ToleranceBand] = Field(default_factory=dict)
    default_tolerance: ToleranceBand = Field(default_factory=ToleranceBand)
    # Tag presence keeps a departed tag for its 60-s read window; counting before that has
    # passed would see released goods still in the bay. Window plus a margin for late reads.
    settle_seconds: float = Field(default=75.0, ge=0)

    @model_validator(mode="after")
    def _commodity_codes_are_named(self) -> ReconcileSettings:
        blank = [code for code in self.tolerances if not code.strip()]
        if blank:
            raise ValueError("reconcile.tolerances: a commodity code must not be blank")
        return self


class VisionSettings(BaseModel):
    """Camera workers: their signing key, where evidence is kept, what a clip holds."""

    key_dir: Path = Path("var/vision-keys")
    # A folder, or an http(s):// object-store URL taking PUT and serving GET.
    evidence_store: str = "var/evidence"
    # Where a worker reporting over HTTP keeps reports while the API is unreachable.
    spool_dir: Path = Path("var/vision-spool")
    clip_seconds: float = 4.0
    # "model": the ONNX detector (model_path, or the shipped model) beside the marker reader;
    # "markers": the marker reader alone, for sites whose goods all carry markers.
    detector: Literal["model", "markers"] = "model"
    model_path: Path | None = None


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
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    vision: VisionSettings = Field(default_factory=VisionSettings)
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
        # A rotated-out secret signs nothing new but still admits tokens: same rules.
        for index, previous in enumerate(self.auth.jwt_previous_secrets):
            defaults[f"auth.jwt_previous_secrets[{index}]"] = (previous, DEV_JWT_SECRET)
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
