"""Numbers written as words, in English and in Arabic (folded, see text.normalize_text)."""

_EN = ["one", "two", "three", "four", "five", "six"]
_EN += ["seven", "eight", "nine", "ten", "eleven", "twelve"]
EN_NUMBERS: dict[str, int] = {word: n for n, word in enumerate(_EN, start=1)} | {
    "a": 1,
    "an": 1,
    "couple": 2,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
}

# Cardinals as people type them in the Gulf, Egypt and the Levant, and in MSA; the hour ordinals
# ("الساعة الرابعة") are feminine, the day ordinals ("الرابع عشر من") masculine.
AR_NUMBERS: dict[str, int] = {
    "واحد": 1, "واحده": 1, "وحده": 1, "الواحده": 1,
    "اثنين": 2, "اتنين": 2, "ثنتين": 2, "تنتين": 2, "الثانيه": 2,
    "ثلاث": 3, "ثلاثه": 3, "تلات": 3, "تلاته": 3, "تلت": 3, "الثالثه": 3,
    "اربع": 4, "اربعه": 4, "الرابعه": 4,
    "خمس": 5, "خمسه": 5, "الخامسه": 5,
    "ست": 6, "سته": 6, "السادسه": 6,
    "سبع": 7, "سبعه": 7, "السابعه": 7,
    "ثمان": 8, "ثماني": 8, "ثمانيه": 8, "تمن": 8, "تمنيه": 8, "تمانيه": 8, "الثامنه": 8,
    "تسع": 9, "تسعه": 9, "التاسعه": 9,
    "عشر": 10, "عشره": 10, "العاشره": 10,
    "احدعش": 11, "حدعش": 11, "حداشر": 11, "احداشر": 11, "الحاديه عشر": 11, "الحاديه عشره": 11,
    "اثنعش": 12, "اتناشر": 12, "طنعش": 12, "ثنعش": 12, "الثانيه عشر": 12, "الثانيه عشره": 12,
}  # fmt: skip

_AR_ORDINAL_UNITS = {
    "الاول": 1, "الحادي": 1, "الثاني": 2, "الثالث": 3, "الرابع": 4, "الخامس": 5,
    "السادس": 6, "السابع": 7, "الثامن": 8, "التاسع": 9,
}  # fmt: skip


def _arabic_day_ordinals() -> dict[str, int]:
    found = dict(_AR_ORDINAL_UNITS) | {"العاشر": 10, "العشرين": 20, "الثلاثين": 30}
    for word, unit in _AR_ORDINAL_UNITS.items():
        if word != "الاول":
            found[f"{word} عشر"] = 10 + unit
        if word != "الاول":
            found[f"{word} والعشرين"] = 20 + unit
    found["الحادي والثلاثين"] = 31
    del found["الحادي"]
    return found


AR_DAY_ORDINALS = _arabic_day_ordinals()
HOUR_WORDS = {w: n for w, n in (EN_NUMBERS | AR_NUMBERS).items() if 1 <= n <= 12 and len(w) > 2}


def number(word: str) -> int | None:
    """The value of a number written in digits or as a word (English or Arabic), else None."""
    if word.isdigit():
        return int(word)
    return EN_NUMBERS.get(word, AR_NUMBERS.get(word))
