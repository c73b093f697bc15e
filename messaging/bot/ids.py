"""Button and list-row ids: each carries the state of its step, and is re-checked when tapped.

"bk:d:2026-11-29:0:0" is "show the times of 29 November, appointment, not a move";
"bk:t:2026-11-29T17:00:1:42" is "17:00 that day, follow-up, moving reservation 42". An id comes
back from the customer's phone, so parsing never trusts it: anything malformed gives None.

A clinic with services of its own adds them: "bk:t:2026-11-29T17:00:0:0:s3:r2" is 17:00 of
service 3 with resource 2 ("r0": anyone who can). Ids without them (sent before, or by a
clinic with one service and one resource) keep parsing as they always did.
"""

from dataclasses import dataclass
from datetime import date, time

# Main menu and other one-word choices.
BOOK = "m:book"
MINE = "m:mine"
STAFF = "m:staff"
MENU = "m:menu"
STOP = "m:stop"  # "cancel" in a flow: nothing changes, back to the menu
LOCATION = "m:loc"
LANGUAGE = "lang:"  # + "ar" / "en"


@dataclass(frozen=True)
class Step:
    """A booking step: what (`action`), for which visit type, moving which reservation (0 none),
    of which service (0: the type's, as before services) with which resource (0: anyone)."""

    # ty (type chosen), sv (service chosen), rs (who chosen), d (day), dp (days from),
    # t (time), tp (times after), ok
    action: str
    type: int
    moving: int
    day: date | None = None
    at: time | None = None
    service: int = 0
    resource: int = 0

    @property
    def id(self) -> str:
        where = ""
        if self.day is not None:
            where = self.day.isoformat()
            if self.at is not None:
                where += "T" + self.at.strftime("%H:%M")
        tail = f":s{self.service}:r{self.resource}" if self.service else ""
        return f"bk:{self.action}:{where}:{self.type}:{self.moving}{tail}"

    @property
    def slot(self) -> tuple[date, time]:
        """The day and time this step names (parse_step guarantees them for t, tp and ok)."""
        if self.day is None or self.at is None:
            raise ValueError(f"{self.id} names no slot")
        return self.day, self.at

    def to(self, action: str, *, day: date | None = None, at: time | None = None) -> "Step":
        return Step(action, self.type, self.moving, day, at, self.service, self.resource)


ACTIONS = frozenset({"ty", "sv", "rs", "d", "dp", "t", "tp", "ok"})


def parse_step(value: str) -> Step | None:
    parts = value.split(":")
    service = resource = 0
    if len(parts) >= 7 and parts[-2][:1] == "s" and parts[-1][:1] == "r":
        service_text, resource_text = parts[-2][1:], parts[-1][1:]
        if not (service_text.isdigit() and resource_text.isdigit()) or service_text == "0":
            return None
        service, resource, parts = int(service_text), int(resource_text), parts[:-2]
    # "bk:t:2026-11-29T17:00:0:0" splits the time too: rejoin everything between action and type.
    if len(parts) < 5 or parts[0] != "bk" or parts[1] not in ACTIONS:
        return None
    action, where, type_, moving = parts[1], ":".join(parts[2:-2]), parts[-2], parts[-1]
    if not (type_.isdigit() and moving.isdigit()):
        return None
    day = at = None
    try:
        if "T" in where:
            day_text, time_text = where.split("T", 1)
            day, at = date.fromisoformat(day_text), time.fromisoformat(time_text)
        elif where:
            day = date.fromisoformat(where)
    except ValueError:
        return None
    if (action in {"d", "dp"} and day is None) or (action in {"t", "tp", "ok"} and at is None):
        return None
    if action in {"sv", "rs"} and not service:
        return None
    return Step(action, int(type_), int(moving), day, at, service, resource)


# My appointments: "ap:<verb>:<reservation id>".
APPOINTMENT_VERBS = frozenset({"show", "mv", "cx", "cxok"})


def appointment(verb: str, reservation_id: int) -> str:
    return f"ap:{verb}:{reservation_id}"


def parse_appointment(value: str) -> tuple[str, int] | None:
    parts = value.split(":")
    if len(parts) != 3 or parts[0] != "ap" or parts[1] not in APPOINTMENT_VERBS:
        return None
    if not parts[2].isdigit():
        return None
    return parts[1], int(parts[2])
