"""Grading a translated submission exactly like an English one, with feedback in its language.

A notebook of a translated release carries ``{"dlcourse": {"lang": "zh-CN"}}`` in its metadata
(:mod:`autograder.translations`); its code cells, cell ids and nbgrader metadata are those of the
English release, only the markdown differs. Two nbgrader preprocessors (``nbgrader_config.py``):

- :class:`ToEnglishMarkdown` runs first in the sanitize step: each read-only markdown cell that
  still holds the translated release's text gets the English release's text back, so the rest of
  the pipeline (structure restore, checksums, execution, hidden tests, points) sees exactly the
  English notebook. A markdown cell the student edited is left alone and is restored (and noted)
  by the structure restore, as for an English submission.
- :class:`LocalizeFeedback` runs right after execution: the markdown cells get the translated
  release's text again, and the messages in the outputs (visible checks, hidden tests, grading
  notes) are translated by the message catalogue (:func:`dlcourse.i18n.translate`). Scores are
  decided by whether a test cell has an error output, which translation does not change.
"""

import os

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, Unicode

from autograder.notebook_cells import grade_id as _grade_id, is_read_only
from autograder.translations import notebook_language
from dlcourse.i18n import translate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _markdown_by_grade_id(path):
    if not os.path.exists(path):
        return {}
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    return {_grade_id(c): c["source"] for c in nb.cells if c["cell_type"] == "markdown" and _grade_id(c)}


class _Releases(NbGraderPreprocessor):
    english_directory = Unicode(os.path.join(ROOT, "course"), help="The English release.").tag(config=True)
    localized_directories = Dict({"zh-CN": os.path.join(ROOT, "course_zh")},
                                 help="Language -> folder of that language's release.").tag(config=True)

    def preprocess(self, nb, resources):
        lang = notebook_language(nb)
        if lang != "en":
            self.localize(nb, lang, *self._markdown(resources, lang))
        return nb, resources

    def localize(self, nb, lang, english, translated):
        """Change ``nb`` (in ``lang``) given the release markdown by grade id, English and translated."""
        raise NotImplementedError

    def _markdown(self, resources, lang):
        """(English, translated) dicts grade id -> markdown source for this notebook."""
        assignment, notebook = resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"]
        rel = os.path.join(assignment, f"{notebook}.ipynb")
        folder = self.localized_directories.get(lang)
        translated = _markdown_by_grade_id(os.path.join(folder, rel)) if folder else {}
        return _markdown_by_grade_id(os.path.join(self.english_directory, rel)), translated


def swap_markdown(nb, source, target):
    """Replace, by grade id, each markdown cell whose text is ``source``'s with ``target``'s; count them.

    source None: every read-only (locked, neither an answer nor a test) markdown cell, whatever its text.
    """
    swapped = 0
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        matches = is_read_only(cell) if source is None else (grade_id in source and cell["source"] == source[grade_id])
        if cell["cell_type"] == "markdown" and grade_id in target and matches:
            cell["source"] = target[grade_id]
            swapped += 1
    return swapped


def localize_outputs(nb, lang):
    """Translate the messages in every code cell's outputs, and in markdown cells with no grade id
    (the grading notes), into ``lang``."""
    for cell in nb.cells:
        if cell["cell_type"] == "markdown" and not _grade_id(cell):
            cell["source"] = translate(cell["source"], lang)
        for output in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            if output.get("output_type") == "error":
                output["evalue"] = translate(output.get("evalue", ""), lang)
                output["traceback"] = [translate(line, lang) for line in output.get("traceback", [])]
            elif output.get("output_type") == "stream":
                output["text"] = translate(output.get("text", ""), lang)


class ToEnglishMarkdown(_Releases):
    """Sanitize step: a translated submission's untouched markdown becomes the English release's."""

    def localize(self, nb, lang, english, translated):
        swap_markdown(nb, translated, english)


class LocalizeFeedback(_Releases):
    """Autograde step, after execution: markdown and messages back in the submission's language."""

    def localize(self, nb, lang, english, translated):
        swap_markdown(nb, None, translated)  # read-only cells were restored to the release's English
        localize_outputs(nb, lang)
