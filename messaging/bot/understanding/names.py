"""Names in a message: the service ("cleaning", "تنظيف") and the practitioner ("Dr Sara",
"د. سارة", "الدكتورة سارة") a customer writes, matched as words with the same Arabic folding
and prefixes as every other reader. Pure: the caller passes the names it offers."""

import re
from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

from messaging.bot.understanding.text import contains_word, normalize_text, phrase_pattern

K = TypeVar("K", bound=Hashable)

# Titles people write before a practitioner's name, or leave out: "Dr Sara" is also "Sara".
_TITLE = re.compile(
    r"^(?:dr\.?|doctor|doc|dentist|mr\.?|mrs\.?|ms\.?|miss|nurse|prof\.?"
    r"|د\.?|دكتور|دكتوره|الدكتور|الدكتوره|دكتوة|اخصائي|اخصائيه|الاخصائي|الاخصائيه|استاذ|استاذه)\s+"
)


# A title written before a name ("with the doctor Sara"), blanked with the name.
_TITLE_BEFORE = (
    r"(?:(?:dr\.?|doctor|doc|nurse)\s+"
    r"|(?:و|ف|ب|ل|مع )?(?:د\.?|(?:ال)?دكتور(?:ه)?|(?:ال)?اخصائي(?:ه)?|(?:ال)?استاذ(?:ه)?)\s+)?"
)


def name_forms(*names: str) -> list[str]:
    """The normalized forms a name may be written in: as given, and without its title."""
    forms: list[str] = []
    for name in names:
        normalized = normalize_text(name).replace(".", ". ").replace("  ", " ").strip()
        for form in (normalized, _TITLE.sub("", normalized)):
            form = form.strip(" .")
            if len(form) >= 3 and form not in forms:
                forms.append(form)
    return forms


def find_named(text: str, candidates: Iterable[tuple[K, Sequence[str]]]) -> K | None:
    """The one candidate whose name appears in `text` (its longest form wins: "Sara Ali" over
    "Sara"); None when none does, or when two match equally (never a guess)."""
    normalized = normalize_text(text)
    best: list[tuple[int, K]] = []
    for key, names in candidates:
        lengths = [len(form) for form in name_forms(*names) if contains_word(normalized, form)]
        if lengths:
            best.append((max(lengths), key))
    if not best:
        return None
    longest = max(length for length, _key in best)
    winners = {key for length, key in best if length == longest}
    return winners.pop() if len(winners) == 1 else None


def blank_names(normalized: str, names: Iterable[str]) -> str:
    """`normalized` with each of the names (and a title before it) blanked out: a practitioner
    or a service is neither an intent ("الدكتورة" alone asks about a female doctor) nor a day."""
    forms = sorted(name_forms(*names), key=len, reverse=True)
    for form in forms:
        pattern = re.compile(_TITLE_BEFORE + phrase_pattern(form))
        normalized = pattern.sub(lambda m: " " * len(m[0]), normalized)
    return normalized
