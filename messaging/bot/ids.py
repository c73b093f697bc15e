"""Button and list-row ids: each carries the state of its step, and is re-checked when tapped.

"bk:d:2026-11-29:0:0" is "show the times of 29 November, appointment, not a move";
"bk:t:2026-11-29T17:00:1:42" is "17:00 that day, follow-up, moving reservation 42". An id comes
back from the customer's phone, so parsing never trusts it: anything malformed gives None.
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
    """A booking step: what (`action`), for which visit type, moving which reservation (0 none)."""

    action: str  # ty (type chosen), d (day), dp (days from), t (time), tp (times after), ok
    type: int
    moving: int
    day: date | None = None
    at: time | None = None

    @property
    def id(self) -> str:
        where = ""
        if self.day is not None:
            where = self.day.isoformat()
            if self.at is not None:
                where += "T" + self.at.strftime("%H:%M")
        return f"bk:{self.action}:{where}:{self.type}:{self.moving}"

    @property
    def slot(self) -> tuple[date, time]:
        """The day and time this step names (parse_step guarantees them for t, tp and ok)."""
        if self.day is None or self.at is None:
            raise ValueError(f"{self.id} names no slot")
        return self.day, self.at

    def to(self, action: str, *, day: date | None = None, at: time | None = None) -> "Step":
        return Step(action, self.type, self.moving, day, at)


ACTIONS = frozenset({"ty", "d", "dp", "t", "tp", "ok"})


def parse_step(value: str) -> Step | None:
    parts = value.split(":")
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
    return Step(action, int(type_), int(moving), day, at)


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
