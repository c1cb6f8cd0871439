from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
FORMATS = FIXTURES / "formats"
PAGES = FIXTURES / "pages"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
