"""Fixtures the end-to-end tests share with tests/actions: the demo cluster in the fake API
(`cluster`), a settable clock (`clock`) and the captured audit log (`audit_log`)."""

from tests.actions.conftest import audit_log, clock, cluster

__all__ = ["audit_log", "clock", "cluster"]
