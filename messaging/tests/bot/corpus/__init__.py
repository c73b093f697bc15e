"""The labelled corpus of customer messages (README.md here) and how a reading is scored."""

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from messaging.bot.parsing import Intent, Reading, proposed_slot

HERE = Path(__file__).parent
# Monday 23 November 2026 (13 Jumada II 1448), 10:00 in Riyadh.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Riyadh"))
TODAY = NOW.date()
# The clinic's practitioners and services, as the bot passes them to `read_message` (named.txt).
SERVICES = [("Cleaning", "تنظيف"), ("Check-up", "فحص"), ("Whitening", "تبييض"), ("X-ray", "أشعة")]
PEOPLE = [("Dr Sara", "د. سارة"), ("Dr Ali", "د. علي"), ("Huda", "هدى")]
NAMES = [name for pair in SERVICES + PEOPLE for name in pair]
INTENTS = {
    "book": Intent.BOOK, "move": Intent.MOVE, "cancel": Intent.CANCEL,
    "mine": Intent.MY_APPOINTMENTS, "location": Intent.LOCATION, "staff": Intent.STAFF,
    "late": Intent.LATE, "question": Intent.QUESTION, "greeting": Intent.GREETING,
    "thanks": Intent.THANKS, "menu": Intent.MENU,
}  # fmt: skip


@dataclass(frozen=True)
class Example:
    kind: str
    language: str
    intent: Intent
    day: str  # "-", "+N", "2026-12-10", "from+N", "from2026-12-01", "ask"
    at: str  # "-", "17:00", a part of the day, "ask"
    text: str
    where: str

    def expected_day(self) -> tuple[str, date | None]:
        """("day" | "from" | "ask" | "none", the day)."""
        if self.day == "-":
            return "none", None
        if self.day == "ask":
            return "ask", None
        kind, value = ("from", self.day[4:]) if self.day.startswith("from") else ("day", self.day)
        if value.startswith("+") or value.lstrip("-").isdigit():
            return kind, TODAY + timedelta(days=int(value))
        return kind, date.fromisoformat(value)

    def expected_slot(self) -> tuple[date, time] | None:
        """The slot a good receptionist would propose, if any."""
        kind, day = self.expected_day()
        if self.intent not in {Intent.BOOK, Intent.MOVE} or ":" not in self.at:
            return None
        if kind in {"ask", "from"}:
            return None
        at = time.fromisoformat(self.at)
        if day is None:
            day = TODAY if at > NOW.time() else TODAY + timedelta(days=1)
        return day, at


def load() -> list[Example]:
    examples = []
    for path in sorted(HERE.glob("*.txt")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip() or line.startswith("#"):
                continue
            kind, language, intent, day, at, text = (p.strip() for p in line.split(" | ", 5))
            examples.append(
                Example(kind, language, INTENTS[intent], day, at, text, f"{path.name}:{number}")
            )
    return examples


def mistakes(example: Example, reading: Reading) -> list[str]:
    """What the reading got wrong (empty when it is right)."""
    wrong = []
    if reading.intent != example.intent:
        wrong.append(f"intent {reading.intent} != {example.intent}")
    if example.intent not in {Intent.BOOK, Intent.MOVE} or reading.intent != example.intent:
        return wrong
    kind, day = example.expected_day()
    if kind == "ask":
        if not reading.unclear_day:
            wrong.append(f"day {reading.day} (unclear={reading.unclear}) should be asked")
    elif kind == "from":
        if reading.from_day != day or reading.day is not None:
            wrong.append(f"days from {reading.from_day} / {reading.day} != from {day}")
    elif reading.day != day or reading.from_day is not None:
        wrong.append(f"day {reading.day or reading.from_day} != {day}")
    if example.at == "ask":
        if not reading.unclear_time:
            wrong.append(f"time {reading.times} (unclear={reading.unclear}) should be asked")
    elif example.at == "-":
        if reading.times or reading.part:
            wrong.append(f"time {reading.times or reading.part} where none was said")
    elif ":" in example.at:
        got = reading.times.times[0] if reading.times else None
        if got != time.fromisoformat(example.at):
            wrong.append(f"time {got} != {example.at}")
    elif reading.part != example.at or reading.times is not None:
        wrong.append(f"part {reading.part or reading.times} != {example.at}")
    if reading.unclear_day and example.day != "ask":
        wrong.append("asks for the day although it was read")
    if reading.unclear_time and example.at != "ask":
        wrong.append("asks for the time although it was read")
    return wrong


def is_wrong_proposal(example: Example, reading: Reading) -> bool:
    """The bot would put a slot to the customer that is not the one they meant."""
    proposed = proposed_slot(reading, now=NOW)
    return proposed is not None and proposed != example.expected_slot()


@dataclass
class Report:
    total: Counter[str]
    right: Counter[str]
    wrong_proposals: list[Example]
    failures: dict[str, list[tuple[Example, list[str]]]]

    @property
    def accuracy(self) -> float:
        return sum(self.right.values()) / max(1, sum(self.total.values()))

    def table(self) -> str:
        lines = [f"{'kind':<14}{'right':>7}{'of':>6}{'accuracy':>10}"]
        for kind in sorted(self.total):
            share = self.right[kind] / self.total[kind]
            lines.append(f"{kind:<14}{self.right[kind]:>7}{self.total[kind]:>6}{share:>10.1%}")
        right, total = sum(self.right.values()), sum(self.total.values())
        lines.append(f"{'all':<14}{right:>7}{total:>6}{self.accuracy:>10.1%}")
        lines.append(f"wrong proposals: {len(self.wrong_proposals)}")
        return "\n".join(lines)


def score(read: Callable[[str], Reading], examples: list[Example]) -> Report:
    report = Report(Counter(), Counter(), [], defaultdict(list))
    for example in examples:
        reading = read(example.text)
        report.total[example.kind] += 1
        if wrong := mistakes(example, reading):
            report.failures[example.kind].append((example, wrong))
        else:
            report.right[example.kind] += 1
        if is_wrong_proposal(example, reading):
            report.wrong_proposals.append(example)
    return report
