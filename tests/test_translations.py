"""The Chinese edition: translations complete and current, course_zh/ differing from course/ only in
markdown, badges into course_zh/, messages in Chinese, and the same grading through real nbgrader."""

import json
from pathlib import Path

import nbformat
import pytest

from autograder import message_catalogue, translations
from autograder.release import LOCALIZED, RELEASE, chapters
from dlcourse import i18n
from tests.graded_courses import group

ROOT = Path(__file__).resolve().parent.parent
ZH = LOCALIZED["zh-CN"]
NAMES = translations.names()


# -- the file format -----------------------------------------------------------------------------
def test_parse_reads_entries_and_strips_blank_lines():
    text = ("<!-- cell: c000 en: 0123456789ab -->\n\n# 标题\n\n正文\n\n\n"
            "<!-- cell: c002 en: ba9876543210 -->\n第二个\n")
    entries = translations.parse(text)
    assert [(e.cell, e.en, e.text) for e in entries] == [
        ("c000", "0123456789ab", "# 标题\n\n正文"), ("c002", "ba9876543210", "第二个")]
    assert translations.parse(translations.render(entries)) == entries


@pytest.mark.parametrize("text", ["stray text\n<!-- cell: c000 en: 0123456789ab -->\nx",
                                  "<!-- cell: c000 en: 0123 -->\nshort fingerprint"])
def test_parse_rejects_malformed_files(text):
    with pytest.raises(translations.TranslationError):
        translations.parse(text)


def test_problems_names_missing_stale_extra_and_order():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("one", id="a"),
                                         nbformat.v4.new_code_cell("x = 1", id="b"),
                                         nbformat.v4.new_markdown_cell("two", id="c"),
                                         nbformat.v4.new_markdown_cell("three", id="d")])
    fp = translations.fingerprint
    entries = [translations.Entry("c", fp("two"), "二"), translations.Entry("a", fp("old one"), "一"),
               translations.Entry("b", fp("x = 1"), "代码")]
    found = {(p.cell, p.kind) for p in translations.problems("demo", entries=entries, nb=nb)}
    assert found == {("a", "stale"), ("b", "extra"), ("d", "missing"), ("*", "order")}
    assert translations.problems("demo", entries=[translations.Entry(c, fp(s), "译") for c, s in
                                                  (("a", "one"), ("c", "two"), ("d", "three"))], nb=nb) == []


def test_fingerprint_is_the_agreed_one():
    import hashlib

    assert translations.fingerprint("# Chapter") == hashlib.sha256(b"# Chapter").hexdigest()[:12]


def test_skeleton_round_trips_as_a_complete_current_translation():
    entries = translations.parse(translations.skeleton("01_losses"))
    assert translations.problems("01_losses", entries=entries) == []


# -- completeness (strict: fails until every chapter is translated) --------------------------------
@pytest.mark.parametrize("name", NAMES)
def test_every_markdown_cell_has_a_current_translation(name):
    found = translations.problems(name)
    assert not found, f"translations/zh-CN/{name}.md:\n" + "\n".join(f"  {p}" for p in found) + \
        "\n(`python -m autograder.translations stale " + name + "` shows what changed)"


def test_readme_translation_is_current():
    found = translations.readme_problems()
    assert not found, "README.zh-CN.md: " + "; ".join(str(p) for p in found)


# -- the Chinese release -------------------------------------------------------------------------
def _strip_markdown(nb):
    cells = []
    for cell in nb.cells:
        cell = dict(cell)
        if cell["cell_type"] == "markdown":
            cell["source"] = "<markdown>"
        cells.append(cell)
    meta = {k: v for k, v in nb.metadata.items() if k != translations.NOTEBOOK_LANG_KEY}
    return cells, meta, nb.nbformat, nb.nbformat_minor


@pytest.mark.parametrize("name", NAMES)
def test_chinese_release_differs_from_the_english_only_in_markdown(name):
    rel = "index.ipynb" if name == "index" else f"{name}/{name}.ipynb"
    en = nbformat.read(str(RELEASE / rel), as_version=nbformat.NO_CONVERT)
    zh = nbformat.read(str(ZH / rel), as_version=nbformat.NO_CONVERT)
    assert _strip_markdown(zh) == _strip_markdown(en), f"course_zh/{rel} differs from course/{rel} beyond markdown"
    assert translations.notebook_language(zh) == "zh-CN"
    current = translations.current_translations(name)
    for cell in zh.cells:
        if cell["cell_type"] == "markdown" and cell["id"] in current:
            assert cell["source"] == current[cell["id"]], f"course_zh/{rel} {cell['id']}: not the translation"


def test_chinese_release_is_what_the_translations_make(tmp_path):
    translations.release_localized(RELEASE, tmp_path, "zh-CN")
    from autograder.release import differences

    assert differences(tmp_path, ZH) == [], "course_zh/ is out of sync: python -m autograder.release --zh-only"


@pytest.mark.parametrize("chapter", chapters())
def test_chinese_chapters_open_in_colab_from_course_zh(chapter):
    nb = nbformat.read(str(ZH / chapter / f"{chapter}.ipynb"), as_version=4)
    first = next(c for c in nb.cells if c["cell_type"] == "markdown")["source"]
    assert f"/blob/main/course_zh/{chapter}/{chapter}.ipynb" in first, f"{chapter}: Colab badge must open course_zh/"


def test_chinese_index_binder_badge_opens_course_zh():
    nb = nbformat.read(str(ZH / "index.ipynb"), as_version=4)
    assert "urlpath=lab/tree/course_zh/index.ipynb" in nb.cells[0]["source"]
    assert "urlpath=lab/tree/course_zh/index.ipynb" in (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")


def test_language_pack_is_installed_by_the_set_up():
    for path in ("requirements.txt", "environment.yml"):
        assert "jupyterlab-language-pack-zh-CN" in (ROOT / path).read_text(), path
    assert "Settings → Language" in (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")


# -- choosing the language -----------------------------------------------------------------------
@pytest.fixture
def no_language(monkeypatch, tmp_path):
    for var in (i18n.LANG_ENV, "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_english_is_the_default(no_language):
    assert i18n.current_language() == "en"
    assert i18n.tr("mse is not implemented yet") == "mse is not implemented yet"


def test_notebook_path_selects_chinese_and_the_variable_overrides(no_language):
    no_language.setenv("JPY_SESSION_NAME", "course_zh/01_losses/01_losses.ipynb")
    assert i18n.current_language() == "zh-CN"
    no_language.setenv(i18n.LANG_ENV, "en")
    assert i18n.current_language() == "en"
    no_language.delenv("JPY_SESSION_NAME")
    no_language.setenv(i18n.LANG_ENV, "zh_CN")
    assert i18n.current_language() == "zh-CN"


def test_kernel_working_directory_selects_chinese(no_language, tmp_path):
    folder = tmp_path / "course_zh" / "01_losses"
    folder.mkdir(parents=True)
    no_language.chdir(folder)
    assert i18n.current_language() == "zh-CN"


def test_a_visible_check_speaks_chinese_with_the_named_mistake(no_language):
    import numpy as np

    from dlcourse.checks import CheckFailure, check

    no_language.setenv(i18n.LANG_ENV, "zh-CN")

    def mse(y_true, y_pred):
        return float(np.sum((np.asarray(y_pred) - np.asarray(y_true)) ** 2))

    with pytest.raises(CheckFailure) as failure:
        check(mse)
    text = str(failure.value)
    assert "用例" in text and "期望" in text and "求和而不是求平均" in text, text
    assert "summing instead of averaging" not in text


def test_set_up_cell_message_is_chinese(no_language, capsys):
    from dlcourse.env import describe_setup

    no_language.setenv(i18n.LANG_ENV, "zh-CN")
    describe_setup("Chapter 01: losses")
    assert capsys.readouterr().out.startswith("第 01 章：损失函数 | 运行于 本机")


def test_every_chapter_label_of_the_set_up_cells_is_translated():
    import re

    for name in chapters():
        text = translations.source_path(name).read_text(encoding="utf-8")
        for label in re.findall(r'describe_setup\(\\"([^\\]+)\\"\)', text):
            assert re.search(r"[\u4e00-\u9fff]", i18n.translate(label, "zh-CN")), f"{name}: {label!r} not translated"


def test_catalogue_entries_are_well_formed():
    cat = i18n.catalogue("zh-CN")
    for english, chinese in cat["templates"].items():
        count = english.count("{}")
        values = [f"v{i}" for i in range(count)]
        expected = chinese.format(*values)  # every placeholder refers to a value
        if any(ch.isalpha() for ch in english.replace("{}", "")):
            assert i18n.translate(english.format(*values), "zh-CN") == expected, english


def test_every_message_template_and_mistake_name_has_a_chinese_entry():
    templates, mistakes = message_catalogue.missing("zh-CN")
    assert not templates and not mistakes, (
        f"dlcourse/locale/zh-CN.json lacks {len(templates)} template(s) and {len(mistakes)} mistake name(s) "
        "(python -m autograder.message_catalogue lists them):\n"
        + "\n".join(f"  template {json.dumps(t, ensure_ascii=False)}" for t in templates[:40])
        + "\n" + "\n".join(f"  mistake  {json.dumps(m, ensure_ascii=False)}" for m in mistakes[:40]))


def test_grading_messages_translate_line_by_line_and_keep_what_is_unknown():
    message = ("mse, case 'hidden: shape (3, 4)': output differs\n  inputs:   y_true=[1.]\n"
               "  expected: 1.0\n  got:      2.0\n  Your output matches summing instead of averaging.\n"
               "an unknown line stays")
    text = i18n.translate(message, "zh-CN")
    assert text.splitlines()[0] == "mse，用例 '隐藏测试：shape (3, 4)'：输出 不一致"
    assert "  你的输出与这种错误一致：求和而不是求平均。" in text.splitlines()
    assert text.splitlines()[-1] == "an unknown line stays"
    assert i18n.translate("HiddenTestFailure: mse is not implemented yet", "zh-CN") == \
        "HiddenTestFailure: mse 还没有实现"


# -- grading a Chinese submission through real nbgrader --------------------------------------------
@pytest.mark.nbgrader
@group("01_losses")
def test_chinese_solution_and_release_are_graded_like_the_english(graded):
    course = graded("01_losses")  # zh_* graded in the same autograde as the English submissions
    course.assert_full_marks("zh_full")
    course.assert_zero("zh_blank")
    course.assert_loses_only("zh_wrong_mse", "test_mse")

    text = nbformat.writes(course.notebook("zh_wrong_mse"))
    assert "你的输出与这种错误一致：求和而不是求平均" in text
    assert "Your output matches" not in text
    assert "第 01 章：损失函数" in text, "the markdown of the feedback must be the Chinese one"
    assert "had been edited" not in text, "untouched Chinese markdown must not be reported as edited"
    assert "求和而不是求平均" in course.feedback("zh_wrong_mse").read_text(encoding="utf-8")


def test_code_and_unknown_text_are_left_alone():
    for line in ['      3 d = {"a": 1}', "File /tmp/x.py:12, in f()", "x: y", "第 01 章：损失函数"]:
        assert i18n.translate(line, "zh-CN") == line


def test_hints_appended_to_a_message_are_translated_too():
    text = i18n.translate("returned 3.0, outside [1e-3, 1]. Your output matches ignoring size (always one number).",
                          "zh-CN")
    assert text == "返回了 3.0，超出了 [1e-3, 1]。 你的输出与这种错误一致：忽略了 size（总是返回一个数）。", text


@pytest.mark.parametrize("metadata", [{"dlcourse": {"lang": ["zh-CN"]}}, {"dlcourse": "zh-CN"},
                                      {"dlcourse": {"lang": "xx"}}, {}, {"dlcourse": {"lang": "zh-CN"}}])
def test_a_submission_s_language_metadata_is_never_trusted_to_be_well_formed(metadata):
    from autograder.localized_grading import LocalizeFeedback, ToEnglishMarkdown

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x")], metadata=metadata)
    expected = "zh-CN" if metadata == {"dlcourse": {"lang": "zh-CN"}} else "en"
    assert translations.notebook_language(nb) == expected
    resources = {"nbgrader": {"assignment": "01_losses", "notebook": "01_losses"}}
    for step in (ToEnglishMarkdown(), LocalizeFeedback()):
        step.preprocess(nb, resources)  # never raises


def test_colab_reads_the_language_from_the_open_notebook(no_language, monkeypatch):
    import sys
    import types

    message = types.ModuleType("google.colab._message")
    message.blocking_request = lambda *a, **k: {"ipynb": {"metadata": {"dlcourse": {"lang": "zh-CN"}}}}
    colab = types.ModuleType("google.colab")
    colab._message = message
    monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab._message", message)
    i18n._colab_language.cache_clear()
    try:
        assert i18n.current_language() == "zh-CN"
        no_language.setenv(i18n.LANG_ENV, "en")
        assert i18n.current_language() == "en"
    finally:
        i18n._colab_language.cache_clear()


def test_a_chinese_notebook_copied_elsewhere_still_speaks_chinese(no_language, tmp_path):
    notebook = tmp_path / "my_copy.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {"dlcourse": {"lang": "zh-CN"}}}), encoding="utf-8")
    no_language.setenv("JPY_SESSION_NAME", "Downloads/my_copy.ipynb")  # relative to the server's root
    assert i18n.current_language() == "zh-CN"
    notebook.write_text("not json", encoding="utf-8")
    i18n._notebook_file_language.cache_clear()
    assert i18n.current_language() == "en"
