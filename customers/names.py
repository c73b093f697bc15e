"""Names people typed (WhatsApp profiles, staff): cleaned when stored, isolated when shown.

A right-to-left override (U+202E) and its kin in a name reorder whatever is printed after it on
the same line: the schedule's next column, the inbox row's number, the transcript. Stored names
lose these controls (`clean_display_name`, from `Customer.save`); every customer-supplied string
on a staff page is also put in its own bidi isolate (`<bdi>`, `dir="auto"`, or FSI...PDI in
plain text such as a page title), so that even a row stored before this cannot spill over.
"""

from django.utils.html import format_html
from django.utils.safestring import SafeString

# Embeddings, overrides, isolates and marks (Unicode's Bidi_Control property).
BIDI_CONTROLS = (
    "\u061c"  # ARABIC LETTER MARK
    "\u200e\u200f"  # LEFT-TO-RIGHT MARK, RIGHT-TO-LEFT MARK
    "\u202a\u202b\u202c\u202d\u202e"  # LRE, RLE, PDF, LRO, RLO
    "\u2066\u2067\u2068\u2069"  # LRI, RLI, FSI, PDI
)
_REMOVE = dict.fromkeys(map(ord, BIDI_CONTROLS))
FIRST_STRONG_ISOLATE, POP_DIRECTIONAL_ISOLATE = "\u2068", "\u2069"


def clean_display_name(name: str | None) -> str | None:
    """`name` without bidi control characters and surrounding blanks; None if nothing is left."""
    if name is None:
        return None
    return name.translate(_REMOVE).strip() or None


def bdi(value: object) -> SafeString:
    """`value`, escaped, in a `<bdi>` element (for the admin's computed columns)."""
    return format_html("<bdi>{}</bdi>", value)


def isolate_text(value: object) -> str:
    """`value` between FSI and PDI: a bidi isolate where markup cannot go (a title, an option)."""
    return f"{FIRST_STRONG_ISOLATE}{value}{POP_DIRECTIONAL_ISOLATE}"
