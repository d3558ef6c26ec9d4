"""The API's request and response bodies, as the OpenAPI document describes them.

Nested structures the services produce from stored results (a model's
parameters, a backtest's tracking) are typed as open objects: their keys
depend on the model, and the document says so instead of guessing.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Obj = dict[str, Any]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# Overview and KPIs ---------------------------------------------------------------------------------

class KpiRow(Open):
    period_start: str
    period_end: str
    s: int | None = None
    e: int | None = None
    n: int | None = None
    retained: int | None = None
    crr: float | None = None
    retained_share: float | None = None
    churn_rate: float | None = None
    repeat_purchase_rate: float | None = None
    purchases: int | None = None
    purchasing_customers: int | None = None
    purchase_frequency: float | None = None
    revenue: float | None = None
    aov: float | None = None
    warmup: bool = False


class KpiSeries(BaseModel):
    period: str
    active_window_days: int
    active_window_source: str | None
    as_of: str | None
    time_zone: str
    currency: str
    run_id: int
    warnings: list[str]
    rows: list[KpiRow]


class Tile(BaseModel):
    key: str
    value: float | None
    previous: float | None
    change: float | None
    change_kind: Literal["points", "relative"]
    good_direction: int


class Overview(KpiSeries):
    tiles: list[Tile]
    tile_period: Obj | None
    customers: int | None
    lifecycle: dict[str, int]
    data_from: str | None
    data_to: str | None
    crr_above_100: list[str]
    tile_reactivated: bool
    refreshed_at: str | None


# Cohorts ---------------------------------------------------------------------------------------------

class CohortCell(BaseModel):
    index: int
    value: float | None
    customers: int


class Cohort(BaseModel):
    cohort_start: str
    size: int
    cells: list[CohortCell]


class CohortMatrix(BaseModel):
    period: str
    metric: str
    as_of: str | None
    currency: str
    periods: int
    max: float | None
    cohorts: list[Cohort]


class CustomerRow(Open):
    external_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


class CohortCustomers(BaseModel):
    period: str
    cohort_start: str
    index: int
    period_start: str
    customers: list[CustomerRow]
    next_cursor: str | None


# Segments --------------------------------------------------------------------------------------------

class RfmCell(BaseModel):
    r_score: int
    f_score: int
    customers: int
    revenue: float | None
    clv: float | None


class RfmGrid(BaseModel):
    cells: list[RfmCell]
    segments: list[Obj]
    run_id: int
    built_at: str | None


class Lifecycle(BaseModel):
    statuses: list[Obj]
    tracks: list[Obj]
    run_id: int


class SegmentIn(BaseModel):
    name: str = Field(min_length=1, max_length=80)
    definition: Obj
    description: str | None = Field(default=None, max_length=2000)


class SegmentUpdate(BaseModel):
    definition: Obj
    description: str | None = Field(default=None, max_length=2000)


class Segment(BaseModel):
    name: str
    description: str | None
    definition: Obj
    version: int
    updated_at: str | None


class ConditionIn(BaseModel):
    definition: Obj | None = None


class SegmentPreview(BaseModel):
    customers: int
    revenue: float
    clv: float
    value_at_risk: float
    reachable: int
    total: int
    share: float
    built_at: str | None
    sample: list[Obj]


class CustomerPage(BaseModel):
    customers: list[CustomerRow]
    next_cursor: str | None
    built_at: str | None = None
    segment: str | None = None


class CustomerRefs(BaseModel):
    customers: list[str] = Field(min_length=1, max_length=1000)
    note: str | None = Field(default=None, max_length=2000)


class ListAdded(Open):
    added: int


# Customers -------------------------------------------------------------------------------------------

class SearchResult(BaseModel):
    query: str
    customers: list[CustomerRow]


class Profile(Open):
    customer: Obj
    orders: list[Obj]
    timeline: list[Obj]
    consent_history: list[Obj]
    enrolments: list[Obj]
    messages: list[Obj]
    segments: list[str]


class AtRisk(BaseModel):
    as_of: str | None
    currency: str
    model: str | None
    model_name: str | None = None
    horizon_days: int
    customers: list[Obj]


class ModelCard(Open):
    available: bool
    as_of: str | None


# Flows -----------------------------------------------------------------------------------------------

class FlowSummary(Open):
    key: str
    name: str
    enabled: bool
    version: int
    priority: int
    control_share: float


class Flow(FlowSummary):
    definition: Obj
    diagram: Obj
    message_steps: list[str]


class FlowSettings(BaseModel):
    control_share: float | None = Field(default=None, ge=0, le=0.9)
    priority: int | None = Field(default=None, ge=0, le=1000)
    budget: float | None = Field(default=None, ge=0, le=10_000_000)


class FlowSwitched(BaseModel):
    key: str
    enabled: bool


class FlowVersion(BaseModel):
    key: str
    version: int | None


class PreviewIn(BaseModel):
    customer: str = Field(min_length=1, max_length=128)
    step: str | None = Field(default=None, max_length=64)
    lang: Literal["de", "en"] | None = None


class TestSendIn(BaseModel):
    customer: str = Field(min_length=1, max_length=128)
    address: str = Field(min_length=3, max_length=320)
    step: str | None = Field(default=None, max_length=64)


class MessagePreview(Open):
    flow: str
    step: str
    channel: str
    would_send: Obj


class Sent(Open):
    sent: bool


class Outbox(BaseModel):
    messages: list[Obj]
    totals: dict[str, int]
    next_cursor: str | None


# Data and jobs ---------------------------------------------------------------------------------------

class JobOut(Open):
    id: int
    kind: str
    status: str
    done: int
    total: int | None
    stage: str | None


class JobList(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None


class History(BaseModel):
    imports: list[Obj]
    refreshes: list[Obj]


class Mapping(Open):
    name: str
    kind: str


# Settings, users, keys -------------------------------------------------------------------------------

class SettingsOut(BaseModel):
    settings: Obj
    types: dict[str, str]
    smtp: Obj


class Schedule(BaseModel):
    refresh_hour: int | None
    flows_minutes: int
    worker: bool
    time_zone: str
    last: Obj
    next: Obj


class AddressIn(BaseModel):
    address: str = Field(min_length=3, max_length=320)


class UrlIn(BaseModel):
    url: str = Field(min_length=8, max_length=2000)


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    role: Literal["viewer", "analyst", "marketer", "admin"]
    password: str = Field(min_length=10, max_length=1024)
    name: str | None = Field(default=None, max_length=120)
    lang: Literal["de", "en"] | None = None


class UserUpdate(BaseModel):
    role: Literal["viewer", "analyst", "marketer", "admin"] | None = None
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    name: str | None = Field(default=None, max_length=120)
    lang: Literal["de", "en"] | None = None


class UserOut(BaseModel):
    id: int
    email: str
    name: str | None
    role: str
    lang: str | None
    created_at: str | None
    last_login_at: str | None


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=120)
    role: Literal["viewer", "analyst", "marketer", "admin", "ingest", "tracking"]


class KeyOut(BaseModel):
    id: int
    name: str
    role: str
    prefix: str
    created_at: str | None
    created_by: str | None
    last_used_at: str | None
    revoked_at: str | None
    active: bool


class KeyCreated(KeyOut):
    key: str = Field(description="The key itself: shown only in this response.")


# Ingestion -------------------------------------------------------------------------------------------

class RecordResult(BaseModel):
    index: int
    status: Literal["imported", "rejected"]
    errors: list[Obj]


class IngestResult(BaseModel):
    kind: str
    received: int
    imported: int
    rejected: int
    customers_created: int
    results: list[RecordResult]


class Batch(BaseModel):
    records: list[Obj] = Field(min_length=1, max_length=1000)


class TrackBatch(BaseModel):
    events: list[Obj] = Field(min_length=1, max_length=1000)
