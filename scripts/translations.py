"""Keep the Dutch catalogue of the pages in step with the templates.

    .venv/bin/python scripts/translations.py          # extract, update the .po, compile the .mo
    .venv/bin/python scripts/translations.py --check  # fail if a text has no Dutch translation

The compiled ``messages.mo`` is committed beside its ``.po`` (package data), so an
installed ledger needs no build step.
"""

from __future__ import annotations

import sys
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PAGES = Path(__file__).resolve().parents[1] / "api" / "pages"
PO = PAGES / "locales" / "nl" / "LC_MESSAGES" / "messages.po"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


def extracted() -> Catalog:
    template = Catalog(project="ledger", domain="messages")
    for _, _line, message, comments, context in extract_from_dir(
        str(PAGES), METHODS, options_map=OPTIONS
    ):
        template.add(message, None, [], auto_comments=comments, context=context)
    return template


def main() -> int:
    template = extracted()
    catalog = read_po(PO.open("rb"), locale="nl") if PO.exists() else Catalog(locale="nl")
    missing = [
        m.id
        for m in template
        if m.id and (m.id not in catalog or not catalog[m.id].string or catalog[m.id].fuzzy)
    ]
    if "--check" in sys.argv:
        for message in missing:
            print(f"no Dutch translation: {message!r}")
        return 1 if missing else 0
    catalog.update(template, no_fuzzy_matching=True)
    with PO.open("wb") as out:
        write_po(out, catalog, omit_header=False, width=100, no_location=True)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    PO.with_suffix(".mo").write_bytes(buffer.getvalue())
    print(f"{len(template)} texts, {len(missing)} without a Dutch translation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
