"""English and Swedish: how the language is chosen and remembered, and what follows it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from surveys.deck import DEFAULT_DECK, DEFAULT_DECK_SV, DEFAULT_DECKS
from surveys.models import Cadence, HealthCard, Notification, Profile, Tribe
from surveys.notify import message_for
from surveys.people import invitation_email
from surveys.services import cadence_periods, reminders_send, tribe_create

from .factories import add_member, cast, make_past_round, make_round, make_squad, make_tribe, make_user
from .mailserver import MailServer

SWITCH = reverse("surveys:language")


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


# Choosing the language


@pytest.mark.django_db
def test_the_browser_language_is_the_first_guess(client):
    swedish = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9,en;q=0.5")
    assert 'lang="sv"' in swedish.content.decode() and "Logga in" in text_of(swedish)
    assert swedish["Content-Language"] == "sv"
    english = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert 'lang="en"' in english.content.decode() and "Sign in" in text_of(english)
    unknown = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="fi")
    assert 'lang="en"' in unknown.content.decode()


@pytest.mark.django_db
def test_the_switcher_names_each_language_in_itself_and_marks_the_current(client):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    form = re.search(r'<form method="post" action="/language/".*?</form>', page, re.S).group(0)
    assert 'lang="sv"' in form and ">Svenska<" in form and ">English<" in form
    assert re.search(r'value="sv" lang="sv"[^>]*aria-pressed="true"', form)
    assert 'name="next" value="/accounts/login/"' in form


@pytest.mark.django_db
def test_a_visitor_switches_with_a_post_and_a_cookie_remembers_it(client):
    response = client.post(SWITCH, {"language": "sv", "next": "/accounts/login/?next=/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "sv"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME]["samesite"] == "Lax"
    # The cookie beats the browser's own guess.
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Logga in" in text_of(page)
    assert client.get(SWITCH).status_code == 405  # a change is a POST, never a link


@pytest.mark.django_db
def test_the_switcher_refuses_odd_input_and_never_leaves_the_site(client):
    elsewhere = client.post(SWITCH, {"language": "sv", "next": "https://example.org/phish"})
    assert elsewhere["Location"] == reverse("surveys:home")
    fresh = Client()
    unknown = fresh.post(SWITCH, {"language": "fi", "next": "/accounts/login/"}, follow=True)
    assert settings.LANGUAGE_COOKIE_NAME not in fresh.cookies
    assert "That language is not one we speak" in text_of(unknown)
    assert Profile.objects.count() == 0


@pytest.mark.django_db
def test_a_signed_in_person_keeps_the_choice_on_their_profile_across_browsers(alice):
    first = Client()
    first.force_login(alice)
    first.post(SWITCH, {"language": "sv", "next": "/"})
    assert Profile.objects.get(user=alice).language == "sv"
    # Another browser that prefers English: signing in brings the choice back.
    second = Client(HTTP_ACCEPT_LANGUAGE="en")
    second.post(reverse("login"), {"login": "alice", "password": "password"})
    home = second.get(reverse("surveys:home"))
    assert 'lang="sv"' in home.content.decode() and "Mina hälsokoller" in text_of(home)
    assert "Du har loggat in som alice." in text_of(home)  # even the message of the sign-in itself
    second.post(SWITCH, {"language": "en", "next": "/"})
    assert Profile.objects.get(user=alice).language == "en"
    assert "My health checks" in text_of(second.get(reverse("surveys:home")))


@pytest.mark.django_db
def test_the_profile_only_holds_a_known_language(alice):
    with pytest.raises(IntegrityError):
        Profile.objects.create(user=alice, language="xx")


@pytest.mark.django_db
def test_a_tribe_only_has_a_known_language():
    with pytest.raises(IntegrityError):
        Tribe.objects.create(name="Odd", slug="odd", language="xx")


# Pages in Swedish


@pytest.fixture
def sv_client(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    return client


def test_the_vote_page_dates_and_words_follow_the_language(sv_client, alice, squad, open_round, cards):
    sv_client.force_login(alice)
    page = text_of(sv_client.get(reverse("surveys:vote", args=[open_round.pk, squad.slug])))
    assert "Spara mina svar" in page and "Hur är det?" in page and "Vart är det på väg?" in page
    closes = timezone.localtime(open_round.closes_at)
    swedish_months = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
    assert f"{closes.day} {swedish_months[closes.month - 1]} {closes.year}" in page
    assert "Save my answers" not in page


def test_numbers_follow_the_language_and_cached_results_are_kept_per_language(client, lead, tribe, cards):
    squads = [make_squad(tribe, f"S{i}", members=5) for i in range(3)]
    rnd = make_past_round(tribe, "2026 Q3")
    for squad in squads:
        cast(rnd, squad, cards[0], "ggyyr")
    rnd.close()
    client.force_login(lead)
    url = reverse("surveys:tribe-dashboard", args=[tribe.slug]) + f"?round={rnd.pk}"
    english = text_of(client.get(url))
    assert "1.20" in english and "How to read this" in english
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    swedish = text_of(client.get(url))  # the matrix was cached in English a moment ago
    assert "1,20" in swedish and "Så läser du det här" in swedish and "Hälsokort" in swedish
    assert "How to read this" not in swedish and "not enough votes" not in swedish


def test_the_charts_get_the_languages_separators(client, lead, tribe, cards, squad):
    rnd = make_past_round(tribe, "2026 Q3")
    cast(rnd, squad, cards[0], "gggy")
    rnd.close()
    client.force_login(lead)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    page = client.get(reverse("surveys:tribe-trends", args=[tribe.slug])).content.decode()
    assert '"separators": ",\\u00a0"' in page
    assert "Deltagande" in page


# The default deck ships in both languages; a tribe's own cards keep theirs


@pytest.mark.django_db
def test_the_default_deck_is_there_in_each_language():
    assert set(DEFAULT_DECKS) == {code for code, _ in settings.LANGUAGES}
    for code, deck in DEFAULT_DECKS.items():
        names = list(
            HealthCard.objects.filter(tribe=None, language=code)
            .order_by("position")
            .values_list("name", flat=True)
        )
        assert names == [card["name"] for card in deck]
    assert len(DEFAULT_DECK_SV) == len(DEFAULT_DECK)


@pytest.mark.django_db
def test_a_tribe_starts_from_the_default_deck_in_its_language_and_keeps_its_own_words():
    swedish = tribe_create(name="Betalningar", slug="betalningar", language="sv")
    english = make_tribe("Payments")
    assert [c.name for c in swedish.cards.order_by("position")] == [c["name"] for c in DEFAULT_DECK_SV]
    assert [c.name for c in english.cards.order_by("position")] == [c["name"] for c in DEFAULT_DECK]
    HealthCard.objects.filter(tribe=swedish, name="Kul").update(name="Glädje")
    # Whoever reads it, a tribe's card is shown as it was written.
    squad = make_squad(swedish, "Kassan")
    member = make_user("elsa")
    add_member(squad, member)
    rnd = make_round(swedish, "2026 K4")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(member)
    page = text_of(client.get(reverse("surveys:vote", args=[rnd.pk, squad.slug])))
    assert "Glädje" in page and "Lätt att släppa" in page and "Save my answers" in page


@pytest.mark.django_db
def test_the_rhythm_titles_rounds_in_the_tribes_language():
    tribe = tribe_create(name="Betalningar", slug="betalningar", language="sv")
    cadence = Cadence.objects.create(tribe=tribe, every=Cadence.Every.QUARTERLY)
    monthly = Cadence(tribe=tribe, every=Cadence.Every.MONTHLY)
    now = timezone.now()
    assert re.fullmatch(r"\d{4} K[1-4]", next(cadence_periods(cadence, now=now)).title)
    month = next(cadence_periods(monthly, now=now)).title
    with translation.override("sv"):
        from django.utils.dates import MONTHS

        assert month.split(" ")[0] in {str(m) for m in MONTHS.values()}


@pytest.mark.django_db
def test_channel_messages_are_written_in_the_tribes_language():
    tribe = tribe_create(name="Betalningar", slug="betalningar", language="sv")
    rnd = make_round(tribe, "2026 K4")
    text, link = message_for(rnd, Notification.Event.OPENED)
    assert text.startswith("Hälsokollen 2026 K4 för Betalningar är öppen till ")
    assert link.endswith("/")
    english, _ = message_for(make_round(make_tribe("Payments"), "2026 Q4"), Notification.Event.OPENED)
    assert english.startswith("The Payments health check 2026 Q4 is open until ")


# Emails go out in the recipient's language


@pytest.fixture
def mail_server(settings):
    with MailServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield server


def test_reminders_go_out_in_each_recipients_language(mail_server, tribe, squad, cards):
    swedish, english = make_user("sven"), make_user("emma")
    for person in (swedish, english):
        add_member(squad, person)
    Profile.objects.create(user=swedish, language="sv")
    make_round(tribe, "2026 Q4", opens_in=timedelta(days=-13))  # closes within a day
    assert reminders_send(days=2) == 2
    mails = {m["To"]: m for m in mail_server.received}
    sv, en = mails["sven@example.com"], mails["emma@example.com"]
    assert sv["Subject"] == "Hälsokollen för din squad stänger snart" and sv["Content-Language"] == "sv"
    assert "Hej sven," in sv.get_content() and "ingen kan se vad du valde" in sv.get_content()
    assert en["Subject"] == "Your squad health check closes soon" and en["Content-Language"] == "en"
    assert "Hello emma," in en.get_content() and "nobody can see what you chose" in en.get_content()


@pytest.mark.django_db
def test_an_invitation_goes_out_in_the_language_of_the_tribe_that_adds_a_new_person(mail_server):
    tribe = tribe_create(name="Betalningar", slug="betalningar", language="sv")
    newcomer = get_user_model().objects.create(username="nils", email="nils@example.com")
    lead = make_user("lena", first_name="Lena", last_name="Lind")
    invitation_email(user=newcomer, invited_by=lead, tribe=tribe).send()
    (mail,) = mail_server.received
    assert mail["Subject"] == "Du är inbjuden till Hälsokoll för squads" and mail["Content-Language"] == "sv"
    assert "Lena Lind har lagt till dig i hälsokollen för Betalningar." in mail.get_content()
    # Someone who chose English gets English, whichever tribe adds them.
    Profile.objects.create(user=newcomer, language="en")
    invitation_email(user=newcomer, invited_by=lead, tribe=tribe).send()
    assert mail_server.received[1]["Subject"] == "You are invited to the squad health check"


# What else follows the language


@pytest.mark.django_db
def test_signing_in_keeps_the_language_of_someone_who_never_chose_one(client, alice):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    client.post(reverse("login"), {"login": "alice", "password": "password"})
    assert Profile.objects.get(user=alice).language == "sv"  # so that their emails come in Swedish


@pytest.mark.django_db
def test_reminders_to_someone_without_a_choice_are_in_the_tribes_language(mail_server):
    tribe = tribe_create(name="Betalningar", slug="betalningar", language="sv")
    squad = make_squad(tribe, "Kassan")
    add_member(squad, make_user("sven"))
    make_round(tribe, "2026 K4", opens_in=timedelta(days=-13))
    assert reminders_send(days=2) == 1
    (mail,) = mail_server.received
    assert mail["Subject"] == "Hälsokollen för din squad stänger snart" and mail["Content-Language"] == "sv"


def test_sign_in_emails_are_in_the_askers_language(sv_client, alice, mailoutbox):
    sv_client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    (mail,) = mailoutbox
    assert mail.subject.startswith("Hälsokoll för squads: ") and mail.body.startswith("Hej,")


def test_the_workshops_live_fragment_is_tagged_with_its_language(client, lead, open_round, squad):
    from surveys.services import workshop_start

    add_member(squad, make_user("member"))
    workshop = workshop_start(
        round=open_round, squad=squad, started_by=lead, flow="live", kind="signin", card_seconds=300
    )
    client.force_login(lead)
    html = client.get(reverse("surveys:workshop-screen", args=[workshop.pk])).content.decode()
    state = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    english = client.get(state)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    swedish = client.get(state, HTTP_IF_NONE_MATCH=english["ETag"])
    assert swedish.status_code == 200 and swedish["ETag"] != english["ETag"]
    assert "anslutna" in swedish.content.decode()


@pytest.mark.django_db
def test_the_api_schema_stays_english_whoever_asks_first(client):
    from surveys.api.views import _schema

    _schema.cache_clear()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    schema = client.get(reverse("api:schema"), HTTP_ACCEPT="application/json").content.decode()
    assert "Green" in schema and "Grön" not in schema
    _schema.cache_clear()


def test_swedish_decimal_commas_never_reach_the_drawings(client, lead, tribe, cards, squad):
    """Numbers for people follow the language; the coordinates of a drawing never do."""
    for days_ago in (60, 30):
        rnd = make_past_round(tribe, days_ago=days_ago)
        cast(rnd, squad, cards[0], "ggyr")
        rnd.close()
    client.force_login(lead)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "sv"
    html = client.get(reverse("surveys:squad", args=[squad.slug])).content.decode()
    svg = re.search(r'<svg viewBox="0 0 \d+ \d+".*?</svg>', html, re.S).group(0)
    assert re.search(r'points="[\d. ,]+"', svg) and re.search(r"\d+\.\d", svg)
    assert not re.search(r"\d,\d+ ", re.sub(r'points="[^"]*"', "", svg)), svg
    assert not re.search(r'(?:x|y|width|height)="\d+,\d', html)
    assert "1,25" in html  # the score written for people, the Swedish way
