"""A Swedish squad runs its health check in Swedish: it votes, then reads the dashboard and the
squad page, and no English string of those pages is left on them."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest

from surveys.models import HealthCard, Profile, Result
from surveys.services import tribe_create
from tests.browser.conftest import ARTIFACTS, axe_violations
from tests.factories import add_member, add_tribe_role, cast, make_round, make_squad, make_user

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "locale" / "sv" / "LC_MESSAGES" / "django.po"
# Where the words of the vote page, the dashboard and the squad page come from.
SOURCES = {
    "templates/base.html",
    "templates/_nav.html",
    "templates/_languages.html",
    "templates/surveys/vote.html",
    "templates/surveys/_vote.html",
    "templates/surveys/home.html",
    "templates/surveys/tribe_dashboard.html",
    "templates/surveys/_tribe_dashboard.html",
    "templates/surveys/_matrix.html",
    "templates/surveys/_legend.html",
    "templates/surveys/_round_picker.html",
    "templates/surveys/squad.html",
    "templates/surveys/_squad.html",
    "templates/surveys/_actions.html",
    "templates/surveys/_sparkline.html",
    "surveys/templatetags/health.py",
    "surveys/forms.py",
    "surveys/models.py",
    "surveys/views/vote.py",
    "surveys/views/results.py",
    "surveys/charts.py",
    "surveys/matrix.py",
    "surveys/support.py",
    "surveys/progress.py",
}
SPLIT = re.compile(r"%\([a-z_0-9]+\)[sdf]|%%|\{[a-z_]+\}|<[^>]+>")


def english_strings() -> set[str]:
    """The English source strings of those pages, as the words a reader would see: each whole
    string, or each run of two or more words between its placeholders and tags. Strings whose
    Swedish is the same word ("Squad", "Workshop") are left out."""
    found = set()
    for entry in polib.pofile(str(CATALOGUE)):
        if not {path for path, _line in entry.occurrences} & SOURCES:
            continue
        pairs = [(entry.msgid, entry.msgstr)]
        if entry.msgid_plural:
            pairs = [(entry.msgid, entry.msgstr_plural[0]), (entry.msgid_plural, entry.msgstr_plural[1])]
        for source, swedish in pairs:
            if source == swedish:
                continue
            for piece in SPLIT.split(source):
                words = piece.strip(" .,:;()·\u2013-?!\n")
                if len(words.split()) >= 2 or (words == source.strip(" .:") and len(words) >= 3):
                    found.add(words)
    return found


def english_left(page) -> list[str]:
    """English source strings found in what the page shows or says to a screen reader."""
    shown = page.evaluate(
        """() => [document.title, document.body.innerText,
                  ...[...document.querySelectorAll('[aria-label],[title],[placeholder]')].map(
                    e => [e.getAttribute('aria-label'), e.getAttribute('title'), e.getAttribute('placeholder')]
                  ).flat().filter(Boolean)].join('\\n')"""
    )
    return sorted(
        s for s in english_strings() if re.search(r"(?<![\w-])" + re.escape(s) + r"(?![\w-])", shown)
    )


@pytest.fixture
def swedish_squad(transactional_db):
    tribe = tribe_create(name="Betalningar", slug="betalningar", language="sv")
    squad = make_squad(tribe, "Kassan")
    for name in ("sara", "nils", "olle"):
        add_member(squad, make_user(name, first_name=name.title()))
    lead = make_user("lena", first_name="Lena", last_name="Lind")
    add_tribe_role(tribe, lead)
    Profile.objects.create(user=lead, language="sv")
    rnd = make_round(tribe, "2026 K4")
    cards = list(HealthCard.objects.filter(tribe=tribe).order_by("position"))
    for card in cards:  # two ballots already in, from nils and olle
        cast(rnd, squad, card, "gy", "is", comments=["Bra tempo", ""])
    return tribe, squad, rnd, cards


def sign_in_in_swedish(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Användarnamn eller e-post").fill(username)
    page.get_by_label("Lösenord").fill("password")
    page.get_by_role("button", name="Logga in", exact=True).click()
    page.wait_for_url(f"{live_server.url}/")


def test_a_swedish_squad_votes_and_reads_its_results_in_swedish(swedish_squad, live_server, page):
    tribe, squad, rnd, cards = swedish_squad
    page.set_viewport_size({"width": 390, "height": 844})
    # The browser asks for English; the switcher at the foot of the page changes that.
    page.goto(f"{live_server.url}/accounts/login/")
    assert page.get_attribute("html", "lang") == "en"
    page.get_by_role("button", name="Svenska").click()
    page.wait_for_selector("html[lang=sv]")
    assert page.get_by_role("button", name="Svenska").get_attribute("aria-pressed") == "true"

    sign_in_in_swedish(page, live_server, "sara")
    assert page.get_by_role("heading", name="Mina hälsokoller").is_visible()
    page.get_by_role("link", name=re.compile("^Rösta nu")).click()
    page.wait_for_selector("form.ballot")
    assert page.get_by_role("heading", name="Lätt att släppa").is_visible()  # the Swedish default deck
    for index, card in enumerate(cards):
        section = page.locator(f"#card-{card.pk}")
        section.get_by_text("Röd" if index == 0 else "Grön", exact=True).click()
        section.get_by_text("Blir bättre", exact=True).click()
    assert page.locator("#answered-label").inner_text() == f"svarat på {len(cards)} av {len(cards)}"
    assert english_left(page) == []
    page.get_by_role("button", name="Spara mina svar").click()
    page.wait_for_selector(".alert-success")
    assert f"Din röstsedel är sparad: du har svarat på {len(cards)} av {len(cards)}." in page.inner_text(
        ".alert-success"
    )
    assert english_left(page) == []
    assert axe_violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "vote-swedish-phone.png"))

    rnd.close()
    # The squad agreed a colour for one card in its workshop: the matrix shows it, and the vote.
    Result.objects.filter(round=rnd, squad=squad, card=cards[1]).update(
        agreed_colour="yellow", agreed_trend="stable"
    )
    page.get_by_role("button", name="Meny").click()
    page.get_by_role("button", name="Logga ut").click()
    sign_in_in_swedish(page, live_server, "lena")

    page.goto(f"{live_server.url}/tribes/{tribe.slug}/")
    assert page.get_by_role("heading", name="Betalningar: tribens hälsa").is_visible()
    assert "överenskommet" in page.inner_text("table.matrix") and "rösterna:" in page.inner_text(
        "table.matrix"
    )
    page.get_by_role("button", name="Meny").click()  # the folded navigation's words are checked too
    page.wait_for_selector("#main-nav.show")
    assert page.get_by_text("Så läser du det här").is_visible()
    assert english_left(page) == []
    page.screenshot(path=str(ARTIFACTS / "dashboard-swedish-phone.png"), full_page=True)

    page.goto(f"{live_server.url}/squads/{squad.slug}/")
    assert page.get_by_role("heading", name="Kassan: squadens hälsa").is_visible()
    assert page.get_by_text("3 av 3 medlemmar röstade (100 %).").is_visible()
    assert english_left(page) == []
    assert axe_violations(page) == []
    page.screenshot(path=str(ARTIFACTS / "squad-swedish-phone.png"), full_page=True)

    # The check can fail: switched to English, the same page is full of the strings it looks for.
    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang=en]")
    assert {"Action items", "How to read this", "History"} <= set(english_left(page))
