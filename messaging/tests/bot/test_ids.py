import datetime as dt

import pytest

from messaging.bot import ids
from messaging.bot.ids import Step


def test_a_step_survives_the_round_trip_through_its_id():
    step = Step("t", 1, 42, dt.date(2026, 11, 29), dt.time(17, 0))
    assert step.id == "bk:t:2026-11-29T17:00:1:42"
    assert ids.parse_step(step.id) == step
    assert ids.parse_step(Step("ty", 0, 0).id) == Step("ty", 0, 0)


@pytest.mark.parametrize(
    "value",
    [
        "bk:t:2026-11-29:0:0",  # a time step without a time
        "bk:d::0:0",  # a day step without a day
        "bk:ok:2026-02-30T17:00:0:0",  # no such day
        "bk:zz:2026-11-29:0:0",
        "bk:t:2026-11-29T17:00:x:0",
        "bk:t",
        "slot:1",
        "",
    ],
)
def test_a_malformed_step_id_is_refused(value):
    assert ids.parse_step(value) is None


def test_a_service_step_carries_its_service_and_resource_and_old_ids_still_parse():
    step = Step("t", 0, 0, dt.date(2026, 11, 29), dt.time(17, 0), service=3, resource=2)
    assert step.id == "bk:t:2026-11-29T17:00:0:0:s3:r2"
    assert ids.parse_step(step.id) == step
    assert step.to("ok", day=step.day, at=step.at).resource == 2
    assert ids.parse_step("bk:rs::0:0:s3:r0") == Step("rs", 0, 0, service=3, resource=0)
    # Sent before services: no service, no resource.
    assert ids.parse_step("bk:t:2026-11-29T17:00:1:42") == Step(
        "t", 1, 42, dt.date(2026, 11, 29), dt.time(17, 0)
    )


@pytest.mark.parametrize(
    "value",
    [
        "bk:t:2026-11-29T17:00:0:0:s0:r2",  # no service
        "bk:t:2026-11-29T17:00:0:0:sx:r2",
        "bk:t:2026-11-29T17:00:0:0:s3:r-1",
        "bk:sv::0:0",  # choosing a service names one
        "bk:rs::0:0",
    ],
)
def test_a_malformed_service_step_id_is_refused(value):
    assert ids.parse_step(value) is None


def test_appointment_ids_are_checked_too():
    assert ids.parse_appointment(ids.appointment("cx", 7)) == ("cx", 7)
    assert ids.parse_appointment("ap:rm:7") is None
    assert ids.parse_appointment("ap:cx:seven") is None
