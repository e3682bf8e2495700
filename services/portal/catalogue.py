"""The portal's message catalogues: one per area, kept in step with the pages.

    python -m services.portal.catalogue update [AREA]  # add new texts (empty) to the .po, drop gone ones
    python -m services.portal.catalogue compile   # .po → .mo (``make`` does this before up and test)
    python -m services.portal.catalogue check     # texts without a Chinese translation, or with two (exit 1)

An area is ``templates/<area>/`` with ``views/<area>.py``; everything else (the layout, errors,
labels, sign-in) is ``common``. English texts are the message ids, so only Chinese is translated.
"""
from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PORTAL = Path(__file__).resolve().parent
TRANSLATIONS = PORTAL / "translations"
LOCALE = "zh_Hans_CN"  # the folder name gettext looks for when Babel is asked for zh_CN
AREAS = ("common", "reader", "staff", "manage", "team", "admin", "inbox", "reports")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
JINJA_OPTIONS = {"extensions": "jinja2.ext.do", "trimmed": "true"}


def area_of(path: Path) -> str:
    """Which catalogue a source file's texts belong to."""
    relative = path.relative_to(PORTAL)
    if relative.parts[0] == "templates" and len(relative.parts) > 2 and relative.parts[1] in AREAS:
        return relative.parts[1]
    if relative.parts[0] == "views" and relative.stem in AREAS:
        return relative.stem
    return "common"


def sources() -> list[Path]:
    return sorted(list(PORTAL.rglob("*.html")) + [p for p in PORTAL.rglob("*.py") if p.name != "catalogue.py"])


def extract() -> dict[str, dict[str, list[str]]]:
    """area → message id → where it is used."""
    found: dict[str, dict[str, list[str]]] = {area: {} for area in AREAS}
    for path in sources():
        method = "jinja2" if path.suffix == ".html" else "python"
        options = JINJA_OPTIONS if method == "jinja2" else {}
        for line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS,
                                                                     options=options):
            for text in (message if isinstance(message, tuple) else (message,)):
                if text:
                    where = path.relative_to(PORTAL) if path.is_relative_to(PORTAL) else path
                    found[area_of(path)].setdefault(text, []).append(f"{where}:{line}")
    return found


def po_path(area: str) -> Path:
    return TRANSLATIONS / area / LOCALE / "LC_MESSAGES" / "messages.po"


def load(area: str) -> Catalog:
    path = po_path(area)
    if not path.exists():
        return Catalog(locale="zh_Hans_CN", project="LSQ portal", domain="messages")
    with path.open("rb") as handle:
        return read_po(handle, locale="zh_Hans_CN")


def update(only: str | None = None) -> None:
    """Bring an area's .po (every area's by default) in line with the sources: new texts added
    untranslated, gone ones dropped, translations kept."""
    for area, messages in extract().items():
        if only and area != only:
            continue
        old = load(area)
        new = Catalog(locale="zh_Hans_CN", project="LSQ portal", domain="messages")
        for text, places in sorted(messages.items()):
            previous = old.get(text)
            new.add(text, previous.string if previous else "",
                    locations=[(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places[:3]])
        path = po_path(area)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, new, width=100, omit_header=False, sort_output=True)


def compile_all() -> list[Path]:
    """Write the .mo files the portal loads; returns them."""
    written = []
    for area in AREAS:
        path = po_path(area)
        if not path.exists():
            continue
        with path.open("rb") as handle:
            catalog = read_po(handle, locale="zh_Hans_CN")
        target = path.with_suffix(".mo")
        with target.open("wb") as handle:
            write_mo(handle, catalog)
        written.append(target)
    return written


def untranslated() -> list[str]:
    """``area: text (where)`` for every text a page uses that has no Chinese translation."""
    missing = []
    for area, messages in extract().items():
        catalog = load(area)
        for text, places in sorted(messages.items()):
            entry = catalog.get(text)
            if entry is None or not entry.string or entry.fuzzy:
                missing.append(f"{area}: {text!r} ({places[0]})")
    return missing


def conflicts() -> list[str]:
    """Texts translated differently in two areas: the catalogues are merged into one, so only one
    translation would show everywhere. Give such texts distinct English wording instead."""
    seen: dict[str, tuple[str, str]] = {}
    found = []
    for area in AREAS:
        for entry in load(area):
            if not entry.id or not entry.string:
                continue
            if entry.id in seen and seen[entry.id][1] != entry.string:
                found.append(f"{entry.id!r}: {seen[entry.id][0]} says {seen[entry.id][1]!r}, {area} says {entry.string!r}")
            seen.setdefault(entry.id, (area, entry.string))
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update(argv[1] if len(argv) > 1 else None)
    elif command == "compile":
        for path in compile_all():
            print(path.relative_to(PORTAL))
    elif command == "check":
        problems = untranslated() + conflicts()
        for line in problems:
            print(line)
        return 1 if problems else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
