"""Loyalty: the programme's report and rules, members' ledgers, point redemption and vouchers.

Every call that moves points or uses a voucher needs an ``Idempotency-Key``:
the ledger books each key at most once, for good (not only for the 24 hours
of the general replay store), so a checkout that retries after a timeout
can never spend the same points twice.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from fastapi import Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from retentio.auth.roles import Principal
from retentio.services import loyalty
from retentio.web.api import authorized, engine, router
from retentio.web.api.schemas import Open

api = router("loyalty")
Ref = Path(..., min_length=1, max_length=128)
Code = Path(..., min_length=1, max_length=64)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RedeemIn(_In):
    points: int = Field(gt=0, le=10**12)
    reference: str | None = Field(default=None, max_length=200)


class VoucherBuyIn(_In):
    points: int = Field(gt=0, le=10**12)


class AdjustIn(_In):
    points: int = Field(ge=-(10**12), le=10**12)
    reason: str = Field(min_length=1, max_length=200)


class VoucherIn(_In):
    kind: Literal["value", "percent"] = "value"
    value: Decimal = Field(gt=0, le=100_000)
    customer: str | None = Field(default=None, max_length=128)
    min_order: Decimal | None = Field(default=None, ge=0, le=10**9)
    valid_days: int | None = Field(default=60, ge=1, le=3650)
    max_uses: int = Field(default=1, ge=1, le=1_000_000)
    code: str | None = Field(default=None, min_length=4, max_length=64, pattern=r"^[A-Za-z0-9-]+$")


class VoucherUseIn(_In):
    order_ref: str | None = Field(default=None, max_length=200)
    order_total: Decimal | None = Field(default=None, ge=0, le=10**9)


class Booking(Open):
    transaction: int
    replayed: bool


class Voucher(Open):
    code: str
    kind: str
    value: float
    currency: str


def key_of(request: Request) -> str | None:
    """The header as sent; the service checks it after the role, so a refused caller learns nothing more."""
    return request.headers.get("idempotency-key")


@api.get("/loyalty", response_model=Open, summary="The programme: members, liability, movements, tiers, effect")
def report(request: Request, p: Principal = Depends(authorized)):
    return loyalty.report(engine(request), p)


@api.get("/loyalty/rules", response_model=Open, summary="The programme's rules in force")
def rules(request: Request, p: Principal = Depends(authorized)):
    return loyalty.get_rules(engine(request), p)


@api.put("/loyalty/rules", response_model=Open, summary="Replace the rules (a new version; history is kept)")
def set_rules(request: Request, body: dict, p: Principal = Depends(authorized)):
    return loyalty.set_rules(engine(request), p, body)


@api.post("/loyalty/rules/what-if", response_model=Open,
          summary="Preview a rule change: tier moves and the change in points liability")
def what_if(request: Request, body: dict, p: Principal = Depends(authorized)):
    return loyalty.what_if(engine(request), p, body)


@api.post("/loyalty/sync", response_model=dict[str, int], summary="Book earnings, releases, bonuses, expiry, tiers")
def sync(request: Request, p: Principal = Depends(authorized)):
    return loyalty.sync(engine(request), p)


@api.get("/loyalty/members/{ref}", response_model=Open,
         summary="A member: balances, tier, expiring points, ledger with running balance")
def member(request: Request, ref: str = Ref, p: Principal = Depends(authorized)):
    return loyalty.member(engine(request), p, ref)


@api.post("/loyalty/members/{ref}/redeem", response_model=Open,
          summary="Debit points at the checkout (Idempotency-Key required; never below zero)")
def redeem(request: Request, body: RedeemIn, ref: str = Ref, p: Principal = Depends(authorized)):
    return loyalty.redeem_points(engine(request), p, ref, body.points, key_of(request), body.reference)


@api.post("/loyalty/members/{ref}/vouchers", response_model=Voucher, status_code=201,
          summary="Buy a voucher with points (Idempotency-Key required)")
def buy(request: Request, body: VoucherBuyIn, ref: str = Ref, p: Principal = Depends(authorized)):
    return loyalty.buy_voucher(engine(request), p, ref, body.points, key_of(request))


@api.post("/loyalty/members/{ref}/adjust", response_model=Booking,
          summary="Correct a balance with a reason (Idempotency-Key required)")
def adjust(request: Request, body: AdjustIn, ref: str = Ref, p: Principal = Depends(authorized)):
    return loyalty.adjust(engine(request), p, ref, body.points, body.reason, key_of(request))


@api.post("/vouchers", response_model=Voucher, status_code=201, summary="Issue a voucher by hand")
def issue(request: Request, body: VoucherIn, p: Principal = Depends(authorized)):
    return loyalty.issue_voucher(engine(request), p, kind=body.kind, value=body.value, customer=body.customer,
                                 min_order=body.min_order, valid_days=body.valid_days, max_uses=body.max_uses,
                                 code=body.code, idem_key=key_of(request))


@api.get("/vouchers/{code}", response_model=Open, summary="Check a voucher against an order total")
def validate(request: Request, code: str = Code, order_total: Decimal | None = Query(None, ge=0, le=10**9),
             p: Principal = Depends(authorized)):
    return loyalty.validate_voucher(engine(request), p, code, order_total)


@api.post("/vouchers/{code}/redeem", response_model=Open,
          summary="Use a voucher for an order (Idempotency-Key required)")
def use(request: Request, body: VoucherUseIn, code: str = Code, p: Principal = Depends(authorized)):
    return loyalty.redeem_voucher(engine(request), p, code, key_of(request), body.order_ref, body.order_total)
