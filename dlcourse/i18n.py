"""The language of learner-facing messages: English by default, Chinese in the Chinese notebooks.

The English and the Chinese notebooks run *identical* code, so the kernel learns the language
from where the notebook is, in this order:

1. ``DLCOURSE_LANG`` (``en``, ``zh-CN``; also ``zh``, ``zh_CN``) when set: an explicit choice wins.
2. On Colab, the open notebook's metadata ``{"dlcourse": {"lang": "zh-CN"}}`` (the Chinese
   release carries it; Colab lets the kernel read its own notebook).
3. ``JPY_SESSION_NAME`` (set by Jupyter Server to the notebook's path): a path through
   ``course_zh/`` means Chinese; else the metadata of that notebook file, when it can be read (a
   Chinese notebook copied elsewhere stays Chinese).
4. The kernel's working directory (the notebook's folder) under ``course_zh/``.
5. Otherwise English.

Messages are built in English everywhere (checks, validation, grading) and translated when
they are shown, by :func:`translate`: the catalogue ``dlcourse/locale/<lang>.json`` maps each
message template (an English line with ``{}`` for every value filled in) to a translation
(``{0}``, ``{1}``, ... may reorder the values) and each named mistake to its translated name.
Values filled into a template are translated too when they are themselves a template or a
mistake name; everything else (numbers, arrays, function names, code) is kept as it is. A line
no template matches is kept in English, so a message never gets lost.
"""

import functools
import json
import os
import re
import sys
from importlib import resources
from pathlib import PurePath

__all__ = ["current_language", "translate", "tr", "catalogue", "normalize_language"]

DEFAULT = "en"
LANG_ENV = "DLCOURSE_LANG"
RELEASE_FOLDERS = {"course_zh": "zh-CN"}
"""Release folder name -> the language of the notebooks in it."""

_ALIASES = {"en": "en", "en-us": "en", "en-gb": "en", "english": "en",
            "zh": "zh-CN", "zh-cn": "zh-CN", "zh-hans": "zh-CN", "zh-sg": "zh-CN", "chinese": "zh-CN"}
_PLACEHOLDER = "{}"
_ERROR_PREFIX = re.compile(r"^(.*?\b(?:CheckFailure|HiddenTestFailure|AssertionError|ValueError|TypeError)"
                           r"(?:\x1b\[[0-9;]*m)?: )(.+)$")


def normalize_language(value):
    """'en' or 'zh-CN' for the spellings people use, None for anything else (or nothing)."""
    if not value:
        return None
    return _ALIASES.get(str(value).strip().replace("_", "-").lower())


def _language_of_path(path):
    if not path:
        return None
    for part in PurePath(str(path)).parts:
        if part in RELEASE_FOLDERS:
            return RELEASE_FOLDERS[part]
    return None


@functools.lru_cache(maxsize=1)
def _colab_language():
    """The language in the metadata of the notebook open in Colab (None outside Colab or on failure)."""
    if "google.colab" not in sys.modules:
        return None
    try:
        from google.colab import _message  # type: ignore[import-not-found]

        reply = _message.blocking_request("get_ipynb", request="", timeout_sec=5)
        meta = (reply or {}).get("ipynb", {}).get("metadata", {}).get("dlcourse", {})
        return normalize_language(meta.get("lang"))
    except Exception:  # noqa: BLE001 - any failure here just means "not known"
        return None


@functools.lru_cache(maxsize=8)
def _notebook_file_language(session_name, cwd):
    """The language in the metadata of the notebook file the session names (looked up as given and in
    the kernel's working directory, which is the notebook's folder); None when it cannot be read."""
    path = PurePath(session_name)
    for candidate in ([str(path)] if path.is_absolute() else []) + [os.path.join(cwd, path.name)]:
        if candidate.endswith(".ipynb") and os.path.isfile(candidate):
            try:
                with open(candidate, encoding="utf-8") as f:
                    meta = json.load(f).get("metadata", {}).get("dlcourse", {})
                return normalize_language(meta.get("lang")) if isinstance(meta, dict) else None
            except (OSError, ValueError, AttributeError):
                return None
    return None


def current_language():
    """The learner's language: 'en' or 'zh-CN' (see the module docstring for how it is found)."""
    explicit = normalize_language(os.environ.get(LANG_ENV))
    if explicit:
        return explicit
    session = os.environ.get("JPY_SESSION_NAME")
    found = _colab_language() or _language_of_path(session)
    if found:
        return found
    if session:
        try:
            found = _notebook_file_language(session, os.getcwd())
        except OSError:
            found = None
        if found:
            return found
    try:
        return _language_of_path(os.getcwd()) or DEFAULT
    except OSError:
        return DEFAULT


def normalize_template(line):
    """A message line as a catalogue key: outer whitespace stripped, runs of spaces kept."""
    return line.strip()


@functools.lru_cache(maxsize=None)
def catalogue(lang):
    """The catalogue of ``lang``: {"templates": {english: translation}, "mistakes": {english: name}}."""
    if lang == DEFAULT:
        return {"templates": {}, "mistakes": {}}
    text = resources.files("dlcourse").joinpath("locale", f"{lang}.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return {"templates": dict(data.get("templates", {})), "mistakes": dict(data.get("mistakes", {}))}


@functools.lru_cache(maxsize=None)
def _compiled(lang):
    """[(regex, translation)] for ``lang``, the most specific templates (most literal text) first."""
    entries = []
    for english, translated in catalogue(lang)["templates"].items():
        pieces = english.split(_PLACEHOLDER)
        pattern = "(.+?)".join(re.escape(p.replace("{{", "{").replace("}}", "}")) for p in pieces)
        literal = sum(len(p) for p in pieces)
        wordless = not any(ch.isalpha() for ch in "".join(pieces))
        entries.append((literal, re.compile(pattern, re.DOTALL), translated, wordless))
    entries.sort(key=lambda e: -e[0])
    return [(regex, translated, wordless) for _, regex, translated, wordless in entries]


def _fragment(text, lang, depth):
    """A value filled into a template: translated when it is a mistake name or itself a template."""
    mistakes = catalogue(lang)["mistakes"]
    core = text.strip()
    if not core:
        return text
    head, tail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
    if core in mistakes:
        return head + mistakes[core] + tail
    translated = _line(core, lang, depth + 1) if depth < 4 else None
    return text if translated is None else head + translated + tail


def _line(text, lang, depth=0):
    """The translation of one line without its indentation, or None when no template matches."""
    for regex, translated, wordless in _compiled(lang):
        match = regex.fullmatch(text)
        if match:
            values = [_fragment(v, lang, depth) for v in match.groups()]
            if wordless and values == list(match.groups()):
                continue  # "{}: {}" and the like only join translated parts (never code such as {"a": 1})
            try:
                return translated.format(*values)
            except (IndexError, KeyError, ValueError):
                return None
    return None


def translate(message, lang=None):
    """``message`` (one or more lines of English) in ``lang`` (default: :func:`current_language`)."""
    lang = normalize_language(lang) if lang else current_language()
    if not lang or lang == DEFAULT or not isinstance(message, str) or not message:
        return message
    out = []
    for line in message.split("\n"):
        body = line.lstrip(" ")
        indent = line[: len(line) - len(body)]
        translated = None
        prefixed = _ERROR_PREFIX.match(body)  # "CheckFailure: <message>" in a traceback: keep the name
        if prefixed:
            rest = _line(prefixed.group(2).rstrip(), lang)
            translated = None if rest is None else prefixed.group(1) + rest
        if translated is None and body.strip():
            translated = _line(body.rstrip(), lang)
        out.append(line if translated is None else indent + translated)
    return "\n".join(out)


def tr(message):
    """Shorthand used where messages are shown: ``translate(message)`` in the learner's language."""
    return translate(message)
