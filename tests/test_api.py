"""The read-only API: keys, scope, the minimums, pages, filters, conditional requests and CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.http import http_date

from surveys import ratelimit
from surveys.models import ApiKey, AuditEvent, Result, Round, RoundSquad, TribeRole
from surveys.services import api_key_create

from .factories import (
    add_member,
    add_tribe_role,
    cast,
    make_past_round,
    make_round,
    make_squad,
    make_tribe,
    make_user,
)


def api(name: str, *args, **params) -> str:
    url = reverse(f"api:{name}", args=args)
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def key_for(tribe=None, *, comments: bool = False, maker=None) -> str:
    """A key made by a lead of the tribe, or by staff for every tribe."""
    if maker is None:
        maker = make_user(is_staff=tribe is None)
        if tribe is not None:
            add_tribe_role(tribe, maker, TribeRole.Role.LEAD)
    return api_key_create(name="Report", tribe=tribe, read_comments=comments, created_by=maker)[1]


def caller(key: str) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def closed(tribe, squad, cards):
    """A closed round: Checkout answered by 5 people (with comments), Fraud by 2 (hidden)."""
    fraud = make_squad(tribe, "Fraud")
    for _ in range(5):
        add_member(squad, make_user())
    rnd = make_past_round(tribe, "2026 Q3", days_ago=60)
    cast(rnd, squad, cards[0], "ggyrr", "iissw", comments=["Deploys hurt", "", "=cmd|' /C calc'!A0", "", ""])
    cast(rnd, squad, cards[1], "ggggg", "sssss")
    cast(rnd, fraud, cards[0], "rr", "ww", comments=["Only two of us"])
    rnd.close()
    return rnd


@pytest.fixture
def other_tribe(db):
    discovery = make_tribe("Discovery")
    search = make_squad(discovery, "Search", members=3)
    rnd = make_past_round(discovery, "Discovery Q3", days_ago=50)
    cast(rnd, search, discovery.cards.first(), "ggg")
    rnd.close()
    return discovery


# Keys


def test_it_needs_a_key(client, closed):
    response = client.get(api("result-list"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "API key is needed" in response.json()["detail"]


def test_it_refuses_a_wrong_or_revoked_key(tribe, closed):
    key = key_for(tribe)
    assert caller(key).get(api("result-list")).status_code == 200
    assert caller(key[:-1] + ("x" if key[-1] != "x" else "y")).get(api("result-list")).status_code == 401
    assert caller("shc_nothing").get(api("result-list")).status_code == 401
    ApiKey.objects.update(revoked_at=timezone.now())
    response = caller(key).get(api("result-list"))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_a_key_stops_working_when_its_maker_may_no_longer_make_it(tribe, closed):
    lead = make_user("former-lead")
    add_tribe_role(tribe, lead, TribeRole.Role.LEAD)
    key = key_for(tribe, maker=lead)
    assert caller(key).get(api("tribe-list")).status_code == 200
    TribeRole.objects.filter(user=lead).delete()
    assert caller(key).get(api("tribe-list")).status_code == 401
    staff = make_user("staff", is_staff=True)
    everything = key_for(None, maker=staff)
    assert caller(everything).get(api("tribe-list")).status_code == 200
    staff.is_staff = False
    staff.save()
    assert caller(everything).get(api("tribe-list")).status_code == 401
    staff.is_staff, staff.is_active = True, False
    staff.save()
    assert caller(everything).get(api("tribe-list")).status_code == 401


def test_the_database_keeps_no_key_only_its_prefix_and_a_keyed_hash(tribe):
    key = key_for(tribe)
    stored = ApiKey.objects.get()
    assert key.startswith(f"shc_{stored.prefix}.")
    assert key not in (stored.digest, stored.prefix) and key[-20:] not in stored.digest
    assert stored.digest == ApiKey.digest_of(key)


def test_a_tribes_key_sees_only_its_tribe(tribe, squad, closed, other_tribe):
    client = caller(key_for(tribe))
    assert [t["slug"] for t in client.get(api("tribe-list")).json()["results"]] == ["payments"]
    assert {s["tribe"] for s in client.get(api("squad-list")).json()["results"]} == {"payments"}
    assert {c["tribe"] for c in client.get(api("card-list")).json()["results"]} == {"payments"}
    assert {r["tribe"] for r in client.get(api("round-list")).json()["results"]} == {"payments"}
    assert {r["tribe"] for r in client.get(api("result-list")).json()["results"]} == {"payments"}
    assert client.get(api("result-list", tribe="discovery")).json()["count"] == 0
    search = other_tribe.squads.get()
    assert client.get(api("squad-detail", search.pk)).status_code == 404
    assert client.get(api("tribe-detail", other_tribe.pk)).status_code == 404
    assert client.get(api("round-detail", other_tribe.rounds.get().pk)).status_code == 404
    assert client.get(api("squad-detail", squad.pk)).status_code == 200


def test_a_key_for_every_tribe_sees_every_tribe(tribe, closed, other_tribe):
    client = caller(key_for(None))
    assert [t["slug"] for t in client.get(api("tribe-list")).json()["results"]] == ["discovery", "payments"]
    assert {r["tribe"] for r in client.get(api("result-list")).json()["results"]} == {"payments", "discovery"}


def test_it_notes_when_a_key_was_last_used(tribe, closed):
    key = key_for(tribe)
    assert ApiKey.objects.get().last_used_at is None
    caller(key).get(api("tribe-list"))
    assert ApiKey.objects.get().last_used_at is not None


def test_it_limits_the_rate_per_key(settings, tribe, closed):
    settings.API_REQUESTS_PER_MINUTE = 2
    first, second = caller(key_for(tribe)), caller(key_for(tribe))
    assert [first.get(api("tribe-list")).status_code for _ in range(2)] == [200, 200]
    refused = first.get(api("tribe-list"))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert second.get(api("tribe-list")).status_code == 200  # each key counts on its own


def test_api_requests_leave_the_other_rate_limits_alone(tribe, closed):
    for _ in range(3):
        ratelimit.hit("invite-failures:203.0.113.9", period=600)
    caller(key_for(tribe)).get(api("tribe-list"))
    assert ratelimit.hits_in_window("invite-failures:203.0.113.9", period=600) == 3


def test_a_round_due_to_close_closes_before_the_api_reads(tribe, squad, cards, closed):
    due = make_round(tribe, "Due", opens_in=timedelta(days=-3), lasts=timedelta(days=2))
    cast(due, squad, cards[0], "ggg")
    rows = caller(key_for(tribe)).get(api("result-list", round=due.pk)).json()
    due.refresh_from_db()
    assert due.state == Round.State.CLOSED and rows["count"] == 22


def test_odd_ids_get_a_json_404(tribe, closed):
    client = caller(key_for(tribe))
    for path in ("/api/v1/squads/99999999999999999999999/", "/api/v1/rounds/0/"):
        response = client.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path


def test_it_only_reads(tribe, closed):
    client = caller(key_for(tribe))
    assert client.post(api("result-list"), {}).status_code == 405
    assert client.delete(api("tribe-detail", tribe.pk)).status_code == 405


def test_there_is_no_endpoint_for_ballots(tribe):
    client = caller(key_for(tribe))
    for path in ("/api/v1/ballots/", "/api/v1/answers/", "/api/v1/votes/"):
        assert client.get(path).status_code == 404


# Results and the minimums


def test_results_apply_the_minimum_exactly_as_the_pages(tribe, squad, cards, closed):
    rows = caller(key_for(tribe)).get(api("result-list")).json()["results"]
    shown = next(r for r in rows if r["squad"] == "checkout" and r["card"] == cards[0].pk)
    assert shown | {"round_closed_at": None} == shown | {
        "round": closed.pk,
        "round_title": "2026 Q3",
        "round_closed_at": None,
        "squad_name": "Checkout",
        "card_name": cards[0].name,
        "hidden": False,
        "members": 5,
        "ballots": 5,
        "participation": 1.0,
        "voters": 5,
        "green": 2,
        "yellow": 1,
        "red": 2,
        "score": 1.0,
        "light": "yellow",
        "split": True,
        "comments": None,  # this key does not read comments
    }
    assert shown["round_closed_at"].endswith("Z")
    hidden = next(r for r in rows if r["squad"] == "fraud" and r["card"] == cards[0].pk)
    assert hidden["hidden"] is True and hidden["members"] == 2
    for field in ("voters", "ballots", "participation", "green", "yellow", "red", "score", "light"):
        assert hidden[field] is None, field
    assert hidden["voted_trend"] is None and hidden["split"] is None and hidden["comments"] is None


def test_comments_come_only_to_keys_that_read_them_and_at_the_comment_minimum(tribe, squad, cards, closed):
    rows = caller(key_for(tribe, comments=True)).get(api("result-list")).json()["results"]
    by_cell = {(r["squad"], r["card"]): r for r in rows}
    assert by_cell[("checkout", cards[0].pk)]["comments"] == ["=cmd|' /C calc'!A0", "Deploys hurt"]
    assert by_cell[("checkout", cards[1].pk)]["comments"] == []
    assert by_cell[("fraud", cards[0].pk)]["comments"] is None


def test_nothing_of_an_open_round_is_served(tribe, squad, cards, closed):
    running = make_round(tribe, "Running")
    cast(running, squad, cards[0], "ggg")
    RoundSquad.objects.get(round=running, squad=squad).close()
    rows = caller(key_for(tribe)).get(api("result-list")).json()["results"]
    assert {r["round"] for r in rows} == {closed.pk}


# What reporting tools need


def test_pages_have_fixed_links_and_a_stable_order(settings, tribe, closed):
    settings.SITE_URL = "https://health.example.com"
    client = caller(key_for(tribe))
    first = client.get(api("result-list", page_size=2), HTTP_HOST="other.example").json()
    assert first["count"] == 22 and first["previous"] is None  # 2 squads x the 11 cards of the round
    assert first["next"] == "https://health.example.com/api/v1/results/?page=2&page_size=2"
    second = client.get(api("result-list", page=2, page_size=2)).json()
    assert second["previous"] == "https://health.example.com/api/v1/results/?page_size=2"
    everything = client.get(api("result-list")).json()["results"]
    assert first["results"] + second["results"] == everything[:4]
    cells = [(r["squad"] == "fraud", r["card"]) for r in everything]
    assert cells == sorted(cells)  # Checkout was made before Fraud: by squad, then card, in a round
    assert client.get(api("result-list", page=9)).status_code == 404


def test_it_filters(tribe, squad, cards, closed, other_tribe):
    client = caller(key_for(None))
    count = lambda **params: client.get(api("result-list", **params)).json()["count"]  # noqa: E731
    # A closed round has a row for every card it asked, for every squad: 11 cards here.
    assert count() == 33
    assert count(tribe="payments") == 22
    assert count(squad="fraud") == 11
    assert count(card=cards[1].pk) == 2
    assert count(round=closed.pk) == 22
    assert (
        count(closed_after=closed.closed_at.isoformat().replace("+", "%2B")) == 11
    )  # Discovery closed later
    refused = client.get(api("result-list", closed_after="yesterday"))
    assert refused.status_code == 400 and "closed_after" in refused.json()
    assert client.get(api("result-list", card="x")).status_code == 400
    assert client.get(api("result-list", card=2**70)).status_code == 400
    # Found by the property-based run: odd offsets reach the database only as UTC.
    assert client.get(api("result-list", closed_after="6593-07-25T03:02:39-22:13")).status_code == 200
    far = client.get(api("result-list", closed_after="9999-12-31T23:59:59-05:00"))
    assert far.status_code == 400 and "between the years" in far.json()["closed_after"][0]
    rounds = client.get(api("round-list", state="closed", tribe="payments")).json()["results"]
    assert [r["title"] for r in rounds] == ["2026 Q3"]
    assert rounds[0]["cards"] == [c.pk for c in cards]


def test_it_answers_304_when_nothing_changed(tribe, squad, cards, closed):
    client = caller(key_for(tribe))
    first = client.get(api("result-list"))
    assert first["Cache-Control"] == "private, no-cache"
    assert first["Last-Modified"] == http_date(closed.closed_at.timestamp())
    again = client.get(api("result-list"), HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    since = client.get(api("result-list"), HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304
    # A newly closed round changes the answer, and so its tag.
    later = make_past_round(tribe, "2026 Q4", days_ago=20)
    cast(later, squad, cards[0], "ggg")
    later.close()
    changed = client.get(api("result-list"), HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]


def test_the_same_rows_come_as_csv_with_formulas_neutralised(tribe, squad, cards, closed):
    client = caller(key_for(tribe, comments=True))
    response = client.get(api("result-list", format="csv"))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 22
    json_rows = client.get(api("result-list")).json()["results"]
    assert list(rows[0]) == list(json_rows[0])
    checkout = next(r for r in rows if r["squad"] == "checkout" and r["card"] == str(cards[0].pk))
    assert checkout["comments"] == "'=cmd|' /C calc'!A0\nDeploys hurt"
    assert checkout["score"] == "1.0" and checkout["hidden"] == "false"
    fraud = next(r for r in rows if r["squad"] == "fraud" and r["card"] == str(cards[0].pk))
    assert fraud["green"] == fraud["score"] == fraud["comments"] == ""
    empty = client.get(api("result-list", format="csv", squad="nobody")).content.decode()
    assert empty.splitlines() == [",".join(json_rows[0])]


def test_the_results_page_runs_a_fixed_number_of_queries(tribe, cards):
    key = key_for(tribe, comments=True)

    def queries() -> int:
        client = caller(key)
        client.get(api("result-list"))  # the key's last use is noted once a minute
        with CaptureQueriesContext(connection) as captured:
            assert client.get(api("result-list")).status_code == 200
        return len(captured)

    def add_round(squads: int, days_ago: int) -> None:
        rnd = make_past_round(tribe, days_ago=days_ago)
        for _ in range(squads):
            squad = make_squad(tribe, members=3)
            for card in cards[:3]:
                cast(rnd, squad, card, "ggy", comments=["a", "b", "c"])
        rnd.close()

    add_round(2, days_ago=60)
    few = queries()
    add_round(4, days_ago=40)
    # The key, its rate (four statements and a savepoint), the newest closing, the count, the rows, the comments.
    assert queries() == few <= 11


# Keys in the app


def test_a_lead_makes_a_key_that_is_shown_once_and_audited(client, tribe, lead, closed):
    client.force_login(lead)
    made = client.post(reverse("surveys:api-keys"), {"name": "Power BI", "tribe": tribe.pk})
    assert made.status_code == 302  # a reload of the page that follows makes no second key
    response = client.get(made["Location"])
    key = ApiKey.objects.get()
    text = response.context["new_key"]
    assert text.startswith(f"shc_{key.prefix}.") and text in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert key.tribe == tribe and key.created_by == lead and not key.read_comments
    event = AuditEvent.objects.get(action=AuditEvent.Action.API_KEY_CREATED)
    assert event.actor == lead and event.detail["reads"] == "Payments" and text not in str(event.detail)
    again = client.get(reverse("surveys:api-keys")).content.decode()
    assert "Power BI" in again and text not in again  # shown once
    assert ApiKey.objects.count() == 1
    assert caller(text).get(api("tribe-list")).status_code == 200


def test_a_lead_cannot_make_a_key_for_another_tribe_or_every_tribe(client, tribe, lead, other_tribe):
    client.force_login(lead)
    for choice in (other_tribe.pk, ""):
        response = client.post(reverse("surveys:api-keys"), {"name": "Sneaky", "tribe": choice})
        assert response.status_code == 400
        assert "tribe" in response.context["form"].errors
    assert not ApiKey.objects.exists()
    response = client.post(reverse("surveys:api-keys"), {"name": "   ", "tribe": tribe.pk})
    assert response.status_code == 400 and "Give the key a name." in response.content.decode()


def test_staff_make_a_key_for_every_tribe(client, tribe, other_tribe):
    staff = make_user("staff", is_staff=True)
    client.force_login(staff)
    response = client.post(reverse("surveys:api-keys"), {"name": "Org report", "tribe": ""})
    assert response.status_code == 302
    assert ApiKey.objects.get().tribe is None


def test_revoking_a_key_is_audited_and_takes_effect_at_once(client, tribe, lead, closed):
    key = key_for(tribe)
    stored = ApiKey.objects.get()
    client.force_login(lead)
    response = client.post(reverse("surveys:api-key-revoke", args=[stored.pk]), follow=True)
    assert "is revoked" in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.API_KEY_REVOKED, actor=lead).count() == 1
    assert caller(key).get(api("tribe-list")).status_code == 401
    client.post(reverse("surveys:api-key-revoke", args=[stored.pk]))  # twice: nothing more happens
    assert AuditEvent.objects.filter(action=AuditEvent.Action.API_KEY_REVOKED).count() == 1


def test_outsiders_get_404_for_keys(client, tribe, squad, alice, other_tribe):
    key_for(tribe)
    stored = ApiKey.objects.get()
    other_lead = make_user("other-lead")
    add_tribe_role(other_tribe, other_lead, TribeRole.Role.LEAD)
    coach = make_user("tribe-coach")
    add_tribe_role(tribe, coach, TribeRole.Role.COACH)
    for person in (alice, coach):
        client.force_login(person)
        assert client.get(reverse("surveys:api-keys")).status_code == 404
    for person in (alice, coach, other_lead):
        client.force_login(person)
        assert client.post(reverse("surveys:api-key-revoke", args=[stored.pk])).status_code == 404
        assert client.post(reverse("surveys:api-key-revoke", args=[987654])).status_code == 404
    client.force_login(other_lead)
    assert "Report" not in client.get(reverse("surveys:api-keys")).content.decode()
    assert ApiKey.objects.get().revoked_at is None


# Parity with the pages


class MatrixCells(HTMLParser):
    """The squad cells of a dashboard's matrix: {(squad, card): (light, agreed colour, voters)}."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[dict]] = []
        self.cell: dict | None = None

    def handle_starttag(self, tag, attrs) -> None:
        css = dict(attrs).get("class") or ""
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self.cell = {"tag": tag, "class": css, "text": "", "lights": []}
        elif tag == "span" and self.cell is not None and css.startswith("light light-"):
            self.cell["lights"].append(css.removeprefix("light light-"))

    def handle_data(self, data) -> None:
        if self.cell is not None:
            self.cell["text"] += data

    def handle_endtag(self, tag) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append(self.cell)
            self.cell = None

    def cells(self) -> dict[tuple[str, str], tuple[str | None, str | None, int | None]]:
        header = [c["text"].strip() for c in self.rows[0][1:] if c["text"].strip() != "Tribe"]
        found = {}
        for row in self.rows[1:]:
            if not row or row[0]["tag"] != "th" or "Participation" in row[0]["text"]:
                continue
            card = row[0]["text"].replace("⚑", "").replace("possible systemic issue", "").strip()
            squad_cells = [c for c in row[1:] if "tribe-col" not in c["class"]]
            for squad, cell in zip(header, squad_cells, strict=True):
                lights = [light for light in cell["lights"] if light != "none"]
                agreed = lights.pop(0) if "cell-agreed" in cell["class"] else None
                voters = re.search(r"(\d+) of \d+ answered", cell["text"])
                found[(squad, card)] = (
                    lights[0] if lights else None,
                    agreed,
                    int(voters.group(1)) if voters else None,
                )
        return found


def test_the_dashboard_the_csv_and_the_api_agree_on_the_demo(db, client, settings):
    call_command("seed_demo", "--force", stdout=io.StringIO())
    # A workshop's agreed colour and ballots through an open link, as a finished workshop leaves them.
    some = Result.objects.filter(round__state=Round.State.CLOSED, voters__gte=3).order_by("pk")[:3]
    Result.objects.filter(pk__in=[r.pk for r in some]).update(
        agreed_colour="green", agreed_trend="improving", open_link_ballots=1
    )
    client.force_login(get_user_model().objects.get(username="admin"))
    reader = caller(key_for(None))
    checked = hidden = agreed = 0
    for rnd in Round.objects.filter(state=Round.State.CLOSED).select_related("tribe"):
        page = client.get(reverse("surveys:tribe-dashboard", args=[rnd.tribe.slug]) + f"?round={rnd.pk}")
        parser = MatrixCells()
        parser.feed(page.content.decode())
        on_page = parser.cells()

        export = client.get(reverse("surveys:tribe-export", args=[rnd.tribe.slug]) + f"?round={rnd.pk}")
        csv_rows = {
            (row["squad"], row["card"]): row
            for row in csv.DictReader(io.StringIO(export.content.decode()))
            if not row["squad"].startswith("Tribe (")
        }
        api_rows = {
            (r["squad_name"], r["card_name"]): r
            for r in reader.get(api("result-list", round=rnd.pk, page_size=1000)).json()["results"]
        }
        assert set(on_page) == set(csv_rows) == set(api_rows), rnd
        for cell, (light, agreed_colour, voters) in on_page.items():
            row, line = api_rows[cell], csv_rows[cell]
            assert light == row["light"] == (line["light"] or None), cell
            assert agreed_colour == row["agreed_colour"] == (line["agreed colour"] or None), cell
            assert row["hidden"] == (light is None)
            if voters is not None:  # an agreed cell shows the vote's light, not its count
                assert voters == row["voters"], cell
            empty = lambda value: "" if value is None else str(value)  # noqa: E731
            assert line["voters"] == empty(row["voters"]), cell
            assert [line["green"], line["yellow"], line["red"]] == [
                empty(row[c]) for c in ("green", "yellow", "red")
            ]
            assert line["score"] == ("" if row["score"] is None else f"{row['score']:.2f}"), cell
            assert line["split"] == ("" if row["split"] is None else ("yes" if row["split"] else "no")), cell
            hidden_note = f"fewer than {settings.HEALTHCHECK_MIN_RESPONSES} answered"
            assert line["note"] == (hidden_note if row["hidden"] else row["divergence"]), cell
            assert line["open-link ballots"] == empty(row["open_link_ballots"]), cell
            assert line["agreed trend"] == (row["agreed_trend"] or ""), cell
            assert line["measured change"] == (row["change"] or ""), cell
            assert line["members"] == str(row["members"]), cell
            hidden += row["hidden"]
            agreed += row["agreed_colour"] is not None
        checked += len(api_rows)
    assert checked > 100 and hidden > 0 and agreed == 3  # the demo has a squad below the minimum
