"""Settings from the environment (`CLUSTERBOT_*`), every field documented.

One pydantic-settings model; the CLI, the bot and `clusterbot check-config` all read it, so a
value means the same thing everywhere. Secrets are `SecretStr`: they never print.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLUSTERBOT_", extra="ignore")

    cluster_name: str = Field("cluster", description="Name shown in answers and reports.")
    node_usage_warning: float = Field(
        80.0, ge=1, le=100, description="Node CPU or memory use (% of allocatable) that warns.")
    node_usage_critical: float = Field(
        90.0, ge=1, le=100,
        description="Node CPU or memory use (% of allocatable) that is critical.",
    )
    restarts_warning: int = Field(
        10, ge=1, description="Restarts of a running container worth reporting.")
    certificate_expiry_days: int = Field(
        14, ge=1, description="Warn when a certificate expires within this many days.")
