"""Fixtures for the app's tests."""

import asyncio

import pytest
import textual.app
import textual.pilot


@pytest.fixture
def quick_keys(monkeypatch):
    """Shorten Pilot's wait for an idle moment, which never comes while training runs (a full second per key).

    Keys are still delivered and handled in order; a test waits for the state it expects with `until`.
    """
    async def short_wait(min_sleep: float = 0.0, max_sleep: float = 1.0) -> None:
        await asyncio.sleep(0.005)

    monkeypatch.setattr(textual.app, "wait_for_idle", short_wait)
    monkeypatch.setattr(textual.pilot, "wait_for_idle", short_wait)
