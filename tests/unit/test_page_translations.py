"""Every text of the pages has a Dutch translation, and the committed .mo matches the .po."""

from __future__ import annotations

import subprocess
import sys
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "api" / "pages" / "locales" / "nl" / "LC_MESSAGES"


def test_every_page_text_has_a_dutch_translation() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "translations.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_compiled_catalogue_is_the_committed_po() -> None:
    po = read_po((CATALOGUE / "messages.po").open("rb"), locale="nl")
    mo = read_mo(BytesIO((CATALOGUE / "messages.mo").read_bytes()))

    def pairs(catalog: object) -> dict[object, object]:
        return {
            tuple(m.id) if isinstance(m.id, list | tuple) else m.id: (
                tuple(m.string) if isinstance(m.string, list | tuple) else m.string
            )
            for m in catalog  # type: ignore[attr-defined]
            if m.id
        }

    assert pairs(po) == pairs(mo)


def test_recorded_values_read_as_words_in_both_languages() -> None:
    from ledger.api.pages.rendering import environment

    for language, expected in (
        ("nl", {"blended": "Op locatie of blended", "en": "Engels", "portfolio": "Portfolio"}),
        ("en", {"blended": "On site or blended", "en": "English", "portfolio": "Portfolio"}),
    ):
        components = environment(language).get_template("components.html").module
        value = components.element_value  # type: ignore[attr-defined]
        assert str(value("participation_form", "blended")).startswith(expected["blended"])
        assert str(value("language", "en")) == expected["en"]
        assert str(value("assessment_type", "portfolio")) == expected["portfolio"]
        assert str(value("language", "not-a-language")) == "not-a-language"
        assert str(value("participation_form", "something new")) == "something new"
