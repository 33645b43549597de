"""The translations stay complete: every catalogue is up to date with the source, fully translated,
and keeps every placeholder and tag of the English it translates."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polib
import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
CATALOGUES = sorted(ROOT.glob("locale/*/LC_MESSAGES/django.po"))
# %(name)s and %s in Python and Django; %{name} in plotly's hover templates; <tags> in markup.
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sdf]|%[sd]|%%|%\{[^}]+\}|\{[a-z_]+\}")
TAG = re.compile(r"</?([a-z]+)[^>]*>")


def test_every_language_but_english_has_a_catalogue():
    languages = {path.parts[-3] for path in CATALOGUES}
    assert languages == {code for code, _ in settings.LANGUAGES} - {settings.LANGUAGE_CODE}


def _pairs(entry: polib.POEntry):
    if entry.msgid_plural:
        return [
            (entry.msgid if n == 0 else entry.msgid_plural, text) for n, text in entry.msgstr_plural.items()
        ]
    return [(entry.msgid, entry.msgstr)]


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-3])
def test_the_catalogue_is_complete(path):
    catalogue = polib.pofile(str(path))
    assert not catalogue.metadata_is_fuzzy and catalogue.metadata.get("Language") == path.parts[-3]
    problems = []
    for entry in catalogue:
        if entry.obsolete:
            problems.append(f"obsolete: {entry.msgid!r}")
        elif "fuzzy" in entry.flags:
            problems.append(f"fuzzy: {entry.msgid!r}")
        elif not entry.translated():
            problems.append(f"untranslated: {entry.msgid!r}")
        for source, text in _pairs(entry):
            if text and Counter(PLACEHOLDER.findall(source)) != Counter(PLACEHOLDER.findall(text)):
                problems.append(f"placeholders differ: {source!r} -> {text!r}")
            if text and Counter(TAG.findall(source)) != Counter(TAG.findall(text)):
                problems.append(f"tags differ: {source!r} -> {text!r}")
    assert not problems, "\n".join(problems)


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The completeness test above fails on each kind of fault (a test that cannot fail proves nothing)."""
    catalogue = polib.POFile()
    catalogue.metadata = {"Language": "xx"}
    for entry in (
        polib.POEntry(msgid="Save", msgstr=""),
        polib.POEntry(msgid="Cancel", msgstr="Avbryt", flags=["fuzzy"]),
        polib.POEntry(msgid="%(n)s of %(k)s voted", msgstr="%(n)s av %(m)s röstade"),
        polib.POEntry(msgid='Part of <a href="%(url)s">%(tribe)s</a>', msgstr="Del av %(tribe)s %(url)s"),
        polib.POEntry(msgid="Keep it to {limit} characters", msgstr="Högst 1000 tecken"),
        polib.POEntry(msgid="Fine", msgstr="Bra"),
    ):
        catalogue.append(entry)
    path = tmp_path / "xx" / "LC_MESSAGES" / "django.po"
    path.parent.mkdir(parents=True)
    catalogue.save(str(path))
    with pytest.raises(AssertionError) as failure:
        test_the_catalogue_is_complete(path)
    report = str(failure.value)
    assert "untranslated: 'Save'" in report and "fuzzy: 'Cancel'" in report
    assert "placeholders differ: '%(n)s of %(k)s voted'" in report
    assert "tags differ: 'Part of" in report and "placeholders differ: 'Keep it to {limit}" in report
    assert "'Fine'" not in report


GETTEXT_CALLS = {"_", "gettext", "ngettext", "pgettext", "npgettext", "gettext_lazy", "pgettext_lazy"}


def test_no_translated_string_hides_inside_an_f_string():
    """xgettext does not look inside f-strings: a _("…") there would never reach the catalogue."""
    hidden = []
    for path in sorted([*ROOT.glob("surveys/**/*.py"), *ROOT.glob("healthcheck/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.JoinedStr):
                for call in ast.walk(node):
                    if isinstance(call, ast.Call) and getattr(call.func, "id", None) in GETTEXT_CALLS:
                        hidden.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert not hidden, hidden


def untranslated_template_text(source: str) -> list[str]:
    """Words in a template that are neither markup nor inside a translation tag."""
    text = re.sub(r"{%\s*comment\s*%}.*?{%\s*endcomment\s*%}|{#.*?#}", "", source, flags=re.S)
    text = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", "", text, flags=re.S)
    text = re.sub(r"<script.*?</script>|<style.*?</style>|{%.*?%}|{{.*?}}", "", text, flags=re.S)
    found = [m.strip() for m in re.findall(r">([^<>]*[A-Za-z]{2,}[^<>]*)<", text)]
    found += re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*[A-Za-z]{2,}[^"]*)"', text)
    return [words for words in found if words]


# Text that is the same in every language: code in an example, and the start of an API key.
NOT_WORDS = {'curl -H "Authorization: Bearer " "?format=csv"', "shc_…", "&nbsp;"}


def test_every_word_in_the_templates_is_marked_for_translation():
    """A template's words outside {% translate %} would stay English in every language."""
    unmarked = {
        str(path.relative_to(ROOT)): words
        for path in sorted(ROOT.glob("templates/**/*.html"))
        if (words := [w for w in untranslated_template_text(path.read_text()) if w not in NOT_WORDS])
    }
    assert not unmarked, unmarked
    # and the scan itself finds what it is for:
    assert untranslated_template_text('<p title="Hi there">{% translate "Save" %} Cancel</p>') == [
        "Cancel",
        "Hi there",
    ]


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-3])
def test_the_catalogue_compiles(path, tmp_path):
    compiled = tmp_path / "django.mo"
    polib.pofile(str(path)).save_as_mofile(str(compiled))
    assert compiled.stat().st_size > 0
    if shutil.which("msgfmt"):  # GNU gettext also checks each python-format string against its source
        subprocess.run(["msgfmt", "--check", "-o", str(tmp_path / "gnu.mo"), str(path)], check=True)


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext (apt-get install gettext)")
def test_makemessages_changes_no_committed_catalogue(tmp_path):
    """A string added to the code or templates without its translation fails here."""
    copy = tmp_path / "project"
    for name in ("healthcheck", "surveys", "templates", "locale"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    shutil.copy(ROOT / "manage.py", copy / "manage.py")
    subprocess.run(
        [sys.executable, "manage.py", "update_catalogues", "--verbosity", "0"],
        cwd=copy,
        check=True,
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "update-catalogues", "DEBUG": "true"},
    )

    def body(path: Path) -> list[str]:
        return [line for line in path.read_text().splitlines() if not line.startswith('"POT-Creation-Date:')]

    for path in CATALOGUES:
        fresh = copy / path.relative_to(ROOT)
        assert body(fresh) == body(path), (
            f"{path.relative_to(ROOT)} is out of date with the source strings: run `make messages`, "
            "translate what it adds, and commit the catalogue"
        )
