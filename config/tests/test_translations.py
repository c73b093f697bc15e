"""Every Arabic catalog is complete, and its compiled .mo matches the .po that is committed."""

import ast
import gettext
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = sorted(
    p
    for pattern in ("*/locale/ar/LC_MESSAGES/django.po", "*/vendor_locale/ar/LC_MESSAGES/django.po")
    for p in ROOT.glob(pattern)
    if ".venv" not in p.parts
)


def read_po(path: Path) -> list[dict[str, object]]:
    """The entries of a .po file: msgid, plural, strings (msgstr or msgstr[n]) and flags."""
    entries: list[dict[str, object]] = []
    entry: dict[str, object] = {}
    key = ""
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry:
                entries.append(entry)
            entry, key = {}, ""
        elif line.startswith("#,"):
            entry.setdefault("flags", line[2:].replace(" ", "").split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] = str(entry[key]) + ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return entries


def test_there_are_arabic_catalogs():
    assert CATALOGS, "no Arabic catalog found"


@pytest.mark.parametrize("po", CATALOGS, ids=lambda p: "/".join(p.parts[-5:-3]))
def test_catalog_is_complete_and_compiled(po):
    entries = [e for e in read_po(po) if e.get("msgid")]
    untranslated = [
        e["msgid"] for e in entries if not all(v for k, v in e.items() if k.startswith("msgstr"))
    ]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e.get("flags", [])]  # type: ignore[operator]
    assert untranslated == []
    assert fuzzy == []
    with po.with_suffix(".mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    for entry in entries:
        context = entry.get("msgctxt")
        msgid = str(entry["msgid"])
        if "msgid_plural" in entry:
            got = catalog.ngettext(msgid, str(entry["msgid_plural"]), 1)
            expected = entry["msgstr[1]"]
        elif context:
            got, expected = catalog.pgettext(str(context), msgid), entry["msgstr"]
        else:
            got, expected = catalog.gettext(msgid), entry["msgstr"]
        assert got == expected, f"{po.parent}/django.mo is stale for {msgid!r}: run msgfmt"
