import datetime as dt

import pytest
import time_machine

from reservations.tests.factories import make_schedule

# Sunday 2026-11-22, 09:00 in Riyadh (06:00 UTC): before the clinic opens at 11:00.
NOW = dt.datetime(2026, 11, 22, 6, 0, tzinfo=dt.UTC)
SUNDAY = dt.date(2026, 11, 22)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def clinic(db, frozen):
    """The demo clinic's normal week, default rules (capacity 2, staff 3), time frozen."""
    return make_schedule()
