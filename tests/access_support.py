"""The dashboard token the tests' receivers run with, and the header that opens /api/* and /metrics."""

from __future__ import annotations

DASHBOARD_TOKEN = "test-dashboard-token-0123456789"
OPERATOR_HEADERS = {"Authorization": f"Bearer {DASHBOARD_TOKEN}"}
