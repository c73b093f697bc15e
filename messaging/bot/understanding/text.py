"""Text shared by every reader: one normal form, word matching with Arabic prefixes, typos."""

import re
from collections.abc import Iterable
from functools import lru_cache

ARABIC_LETTERS = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
LATIN_LETTERS = re.compile(r"[A-Za-z]")

# Arabic-Indic (٠-٩) and Eastern Arabic-Indic (۰-۹, used in Persian/Urdu keyboards) digits.
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
# Letter variants people type interchangeably: alef forms, teh marbuta/heh, alef maksura/yeh,
# Persian yeh and keheh; tatweel and diacritics are dropped.
_ARABIC_FOLD = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ی": "ي", "ک": "ك", "ـ": None}
)
_DIACRITICS = re.compile(r"[\u064B-\u0652\u0670]")
_PUNCTUATION = str.maketrans({"،": ",", "؟": "?", "؛": ";", "\u2019": "'", "\u2018": "'"})


def normalize_text(text: str) -> str:
    """Lower-case, Western digits, folded Arabic letter variants, single spaces."""
    text = _DIACRITICS.sub("", text.translate(_DIGITS)).translate(_ARABIC_FOLD)
    text = text.translate(_PUNCTUATION)
    return re.sub(r"\s+", " ", text).strip().lower()


def detect_language(text: str) -> str | None:
    """'ar' when the text is mostly Arabic script, 'en' when mostly Latin, None otherwise."""
    arabic = len(ARABIC_LETTERS.findall(text))
    latin = len(LATIN_LETTERS.findall(text))
    if arabic == latin == 0:
        return None
    return "ar" if arabic >= latin else "en"


# Arabic words take attached prefixes: a conjunction or preposition (و ف ب ل) and, for a word
# without its own article, the article (ال, or لل after ل). A phrase written with the article
# keeps it required, so "الاحد" (Sunday) does not match "واحد" (one). English matches whole
# words, plural allowed ("hi" is not "this"; "my appointments" is "my appointment").
_START = r"(?:^|(?<=[\s,.!?;:()\-/]))"
_END = r"(?=$|[\s,.!?;:()\-/])"


def phrase_pattern(phrase: str) -> str:
    """The regular expression of one keyword or phrase (already normalized)."""
    if ARABIC_LETTERS.search(phrase):
        if phrase.startswith("ال"):
            return rf"{_START}(?:و|ف|ب)?(?:ال|لل){re.escape(phrase[2:])}{_END}"
        return rf"{_START}(?:و|ف|ب|ل)?(?:ال|ل)?{re.escape(phrase)}{_END}"
    return rf"\b{re.escape(phrase)}s?\b"


@lru_cache(maxsize=256)
def _compiled(phrase: str) -> re.Pattern[str]:
    return re.compile(phrase_pattern(phrase))


def any_of(phrases: Iterable[str]) -> re.Pattern[str]:
    """One compiled pattern matching any of the phrases as `phrase_pattern` does: the prefixes
    and word edges are written once around each group of words (much faster than one branch
    per phrase)."""
    normalized = sorted({normalize_text(p) for p in phrases}, key=len, reverse=True)
    latin = [p for p in normalized if not ARABIC_LETTERS.search(p)]
    with_article = [p[2:] for p in normalized if ARABIC_LETTERS.search(p) and p.startswith("ال")]
    bare = [p for p in normalized if ARABIC_LETTERS.search(p) and not p.startswith("ال")]
    branches = []
    if latin:
        branches.append(rf"\b(?:{_alternatives(latin)})s?\b")
    if with_article:
        branches.append(rf"{_START}(?:و|ف|ب)?(?:ال|لل)(?:{_alternatives(with_article)}){_END}")
    if bare:
        branches.append(rf"{_START}(?:و|ف|ب|ل)?(?:ال|ل)?(?:{_alternatives(bare)}){_END}")
    return re.compile("|".join(branches) or r"(?!)")


def _alternatives(words: list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def contains_word(text: str, phrase: str) -> bool:
    """Whether the (normalized) phrase appears as a word or phrase in the (normalized) text."""
    return _compiled(phrase).search(text) is not None


def near_miss(word: str, vocabulary: Iterable[str]) -> str | None:
    """The vocabulary word a typo or two away (a letter missing, extra, wrong, or two swapped):
    one for a word of 5-6 letters, two from 7; shorter words are other words, not typos. The
    first letter is taken as typed (people rarely miss it), which keeps this cheap."""
    if len(word) < 5:
        return None
    allowed = 1 if len(word) < 7 else 2
    for known in vocabulary:
        close = known[0] == word[0] and abs(len(known) - len(word)) <= allowed
        if close and len(known) >= 5 and edit_distance(word, known) <= allowed:
            return known
    return None


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Levenshtein with adjacent swaps)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]
