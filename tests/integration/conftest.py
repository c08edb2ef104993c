from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.helpers import Sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """The external-systems sandbox in-process, reached through the production httpx adapters."""
    box = Sandbox()
    try:
        yield box
    finally:
        await box.aclose()
