"""A local GHL look-alike for tests, benchmarks and the demo (see server.FakeGHL)."""

from sync.fakeghl.server import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeGHL

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "FakeGHL"]
