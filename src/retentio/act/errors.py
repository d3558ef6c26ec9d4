"""Errors of the act layer that name what failed, so one broken flow fails alone."""

from __future__ import annotations

from retentio.errors import RetentioError
from retentio.i18n import Msg


class FlowFailed(RetentioError):
    """One flow cannot run (a broken condition, segment or template); the others go on."""

    def __init__(self, flow_key: str, why: Msg | str) -> None:
        super().__init__(Msg("flow {key}: {why}", key=flow_key, why=why if isinstance(why, Msg) else Msg(why)))
        self.flow_key = flow_key
        self.why = why if isinstance(why, Msg) else Msg(why)
