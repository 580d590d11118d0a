"""The base of every configuration model (pydantic v2): unknown fields are errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(frozen=False, arbitrary_types_allowed=True, extra="forbid")
