"""Escaping student-controlled text for where it lands: one rule per format, written once.

Every string a student controls (file names, printed text, exception messages, answers shown back)
goes through one of these before it reaches an output: a terminal or CI log line, Markdown, a GitHub
workflow command, XML. (HTML pages are escaped by jinja2's autoescape; links are built from
percent-encoded names in ``grader.reporters.overview``.)
"""

from __future__ import annotations

import re

# C0 and C1 controls (newlines, carriage returns, ANSI escapes), and invisible or bidirectional
# formatting characters that can make a line read differently from what it holds.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~&!:#])")
# Characters XML 1.0 cannot hold (ANSI escapes in tracebacks, NUL bytes printed by a student).
_INVALID_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def one_line(text: str) -> str:
    """``text`` on one line with every control or invisible character shown as an escape (``\\n``,
    ``\\x1b``, ``\\u202e``): safe in a terminal, a CI log or a message, where nothing of it can start a
    line of its own or move the cursor."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def markdown(text: str) -> str:
    """``text`` as literal Markdown inline text: on one line, every character that could start markup
    (emphasis, links, images, raw HTML, tables, headings) backslash-escaped."""
    return _MARKDOWN.sub(r"\\\1", one_line(text))


def markdown_code(text: str) -> str:
    """``text`` as a Markdown code span: rendered exactly as it is, never as markup or a link (names)."""
    text = one_line(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def workflow_data(text: str) -> str:
    """The message part of a GitHub workflow command, escaped as the runner unescapes it (%, CR, LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(text: str) -> str:
    """A property value (``title=...``) of a GitHub workflow command."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")


def xml(text: str) -> str:
    """Text safe for an XML attribute or element (ElementTree escapes ``&<>"`` itself)."""
    return _INVALID_XML.sub("\ufffd", text)
