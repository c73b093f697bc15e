"""What a customer wants, from keywords and phrases in Arabic (Gulf, Egyptian, Levantine, MSA)
and English, typos included. Works on normalized text (text.py)."""

import re
from enum import StrEnum

from messaging.bot.understanding.text import any_of, near_miss


class Intent(StrEnum):
    BOOK = "book"
    MY_APPOINTMENTS = "my_appointments"
    MOVE = "move"
    CANCEL = "cancel"
    LATE = "late"
    QUESTION = "question"
    STAFF = "staff"
    LOCATION = "location"
    MENU = "menu"
    GREETING = "greeting"
    THANKS = "thanks"
    LANGUAGE_ARABIC = "language_ar"
    LANGUAGE_ENGLISH = "language_en"


# Checked in this order: "cancel my booking" is a cancellation, not a booking; "I'll be late
# for my appointment" is a late notice; "how much is an appointment?" is a question.
_KEYWORDS: list[tuple[Intent, tuple[str, ...]]] = [
    (Intent.LANGUAGE_ARABIC, ("arabic", "عربي", "العربيه")),
    (Intent.LANGUAGE_ENGLISH, ("english", "انجليزي", "انقليزي", "الانجليزيه")),
    (Intent.LATE, (
        "late", "running late", "running behind", "delayed", "held up", "on my way",
        "stuck in traffic", "almost there", "min behind", "mins behind", "minutes behind",
        "في السكه", "بالسكه", "mins away", "minutes away", "min away",
        "بوصل", "باوصل", "راح اوصل", "رح اوصل", "هوصل", "حوصل", "ساصل", "واصل بعد",
        "be there in", "متاخر", "متاخره", "متاخرين", "بتاخر", "راح اتاخر", "رح اتاخر", "هتاخر",
        "حتاخر", "ساتاخر", "اتاخر", "تاخرت", "بالطريق", "في الطريق", "عم اجي", "متاخرا",
    )),
    (Intent.CANCEL, (
        "cancel", "cancl", "cancle", "call it off", "call off", "remove my booking",
        "remove my appointment", "drop my appointment", "drop my booking", "cant make it",
        "can't make it", "cannot make it", "wont be able to come", "won't be able to come",
        "dont need the appointment", "don't need the appointment", "no longer need",
        "dont need my appointment", "don't need my appointment", "ما ابي الموعد",
        "ما ابغى الموعد", "ما ابغي الموعد", "مابي الموعد", "مش عايز الميعاد", "مش محتاج الميعاد",
        "مو محتاج الموعد", "ما بدي الموعد", "الغاء", "الغي", "الغوا", "الغو", "لغي", "الغيه",
        "تلغون", "تلغوا", "تلغو", "تلغي",
        "يلغي", "نلغي", "الغيها", "الغولي", "الغيلي", "انلغي", "كنسل", "اكنسل", "كنسلوا", "نكنسل",
        "لا اريد الموعد", "ما راح اقدر اجي", "مش هقدر اجي", "ما بقدر اجي", "ما اقدر اجي",
    )),
    (Intent.MOVE, (
        "reschedule", "move", "change", "postpone", "push back", "push my", "rearrange",
        "different time", "another time", "another day", "bring forward",
        "تغيير", "تعديل", "تاجيل", "اجل", "ااجل", "اأجل", "نأجل", "تاجلون", "تاجلوا", "اجلوا",
        "انقل", "تنقلوا", "تنقلو", "تنقلون", "نقل", "اغير", "نغير", "تغيرلي", "تأجلي", "اجلي",
        "ااخر", "اخر موعدي", "تاخير موعدي", "تغيرون", "تغيروا", "غيروا", "اقدم",
        "تقديم",
    )),
    (Intent.MY_APPOINTMENTS, (
        "my appointment", "my booking", "my reservation", "my appt", "my next visit",
        "do i have an appointment", "do i have a booking", "do i have any",
        "did i book", "have i booked", "am i booked", "if i have a booking",
        "if i have an appointment", "have i got an appointment",
        "مواعيدي", "موعدي", "ميعادي", "حجوزاتي", "حجزي", "عندي موعد", "عندي ميعاد",
        "ليا ميعاد", "لي موعد", "لدي موعد", "عندي حجز",
    )),
    (Intent.STAFF, (
        "staff", "human", "agent", "person", "reception", "receptionist", "talk to", "speak to",
        "call me", "someone", "موظف", "الموظفين", "الاستقبال", "السكرتير", "السكرتيره", "شخص",
        "كلمني", "اتصل", "اكلم احد", "اكلم حد", "اتكلم مع", "التحدث مع",
    )),
    (Intent.QUESTION, (
        "parking", "park", "price", "prices", "cost", "how much", "fee", "fees", "insurance",
        "bupa", "tawuniya", "medgulf", "vaccine", "vaccination", "flu shot", "open", "opening",
        "working hours", "hours", "prepare", "fast", "fasting", "female doctor", "kids",
        "children", "pay by", "card", "cash", "results", "home visit", "x-ray", "xray",
        "مواقف", "موقف سيارات", "باركنج", "ركنه", "سعر", "اسعار", "بكام", "كم سعر", "قديش",
        "الكشفيه", "تكلفه", "تامين", "بوبا", "التعاونيه", "تطعيم", "لقاح", "تفتحون", "تفتحو",
        "تفتحوا", "اوقات الدوام", "دوامكم", "الدوام متي", "اوقات", "ساعات العمل",
        "مواعيد العياده", "مواعيد العمل", "استعد",
        "صايم", "صيام", "دكتوره", "طبيبه", "اطفال", "الاطفال", "شبكه", "مدى", "كاش", "النتايج",
        "النتائج", "نتيجه", "زياره منزليه", "اشعه",
    )),
    (Intent.LOCATION, (
        "location", "located", "address", "where are you", "where is the clinic", "map",
        "directions", "how do i get", "get to you", "where are u", "where r u", "where r you",
        "where is it", "whereabouts", "الموقع", "العنوان", "عنوان", "عنوانكم", "وين",
        "لوكيشن", "اللوكيشن", "فين", "مكانكم", "الخريطه",
    )),
    (Intent.BOOK, (
        "book", "booking", "appointment", "appt", "reserve", "reservation", "slot",
        "see the doctor",
        "حجز", "احجز", "موعد", "موعدا", "ميعاد", "مواعيد", "maw3ed", "mawed",
    )),
    (Intent.THANKS, ("thank", "thanks", "thx", "شكرا", "مشكور", "مشكورين", "يعطيك العافيه",
                     "متشكر", "يسلمو", "تسلمون", "ما قصرتوا", "جزاكم الله")),
    (Intent.MENU, ("menu", "help", "start", "options", "القائمه", "مساعده", "ابدا")),
    (Intent.GREETING, (
        "hello", "hi", "hey", "good morning", "good evening", "good afternoon", "salam",
        "السلام", "مرحبا", "اهلا", "هلا", "صباح الخير", "مساء الخير", "ازيكم", "كيفكن",
    )),
]  # fmt: skip
_PATTERNS = [(intent, any_of(words)) for intent, words in _KEYWORDS]
# English words a typo away still count ("apointment", "reserv", "cancl").
_TYPO_VOCABULARY = {
    "appointment": Intent.BOOK, "reserve": Intent.BOOK, "booking": Intent.BOOK,
    "cancel": Intent.CANCEL, "reschedule": Intent.MOVE, "postpone": Intent.MOVE,
    "location": Intent.LOCATION, "address": Intent.LOCATION,
}  # fmt: skip
_SHORT_TYPOS = {"bok": Intent.BOOK, "apt": Intent.BOOK}
_LATE_NOT = re.compile(r"\b(?:late\s+(?:afternoon|evening|night|morning|slot|appointment))\b")
_QUESTION_OPENERS = re.compile(
    r"^(?:(?:is|are|do|does|can|could|how|what|when|where|should|will|which|who|why)\b"
    r"|(?:هل|كم|متي|وش|ايش|شو|كيف|ليش|بكام|قديش|ممكن اعرف)\s)"
)


def parse_intent(text: str) -> Intent | None:
    """The first intent whose keyword appears in the (normalized) text."""
    for intent, pattern in _PATTERNS:
        if pattern.search(text):
            if intent is Intent.LATE and _LATE_NOT.search(text):
                continue
            return intent
    for word in re.findall(r"[a-z]+", text):
        if word in _SHORT_TYPOS:
            return _SHORT_TYPOS[word]
        if known := near_miss(word, _TYPO_VOCABULARY):
            return _TYPO_VOCABULARY[known]
    return None


def is_question(text: str) -> bool:
    """A question in its form: a question mark, or an opening question word."""
    return "?" in text or _QUESTION_OPENERS.search(text) is not None
