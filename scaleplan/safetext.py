"""Text from files, servers and catalogs, made safe for terminals, CI logs and XML.

A name in a manifest, a row in a catalog or an error message from an API can carry control
characters: ESC/OSC sequences that recolour a terminal, rewrite a CI log or set a window
title; NULs and other C0 characters that make XML not well-formed. Everything scaleplan prints
from such data goes through :func:`printable` (text, GitHub and terminal output) or
:func:`xml_text` (JUnit).
"""

from __future__ import annotations

import re

# C0 controls (keeping newline and tab when asked), DEL, C1 controls, and the Unicode line and
# paragraph separators and bidi overrides that reorder what a reader sees.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_NL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# XML 1.0 allows only #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# rich's ``Console.print(text, markup=False, soft_wrap=True)`` writes a line as it is (then a
# newline) unless it holds something rich rewrites: an emoji code (``:name:``), a tab (expanded)
# or a control character (dropped); see :func:`printed_as_is`
_EMOJI_CODE = re.compile(r":\S*:")


def printed_as_is(text: str) -> bool:
    """``text`` is printable (no control character, tab, line break or other non-printing
    character: ``str.isprintable``) and holds no ``:...:`` that rich could read as an emoji
    code: rich, printing it softly wrapped without markup, writes exactly these characters."""
    return text.isprintable() and not _EMOJI_CODE.search(text)


def _escape(m: re.Match[str]) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with control characters shown as ``\\x1b``-style escapes (newlines and tabs
    kept with ``keep_newlines``)."""
    return (_CONTROL if keep_newlines else _CONTROL_NL).sub(_escape, text)


def xml_text(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold shown as ``\\x1b``-style escapes."""
    return _XML_BAD.sub(_escape, text)
