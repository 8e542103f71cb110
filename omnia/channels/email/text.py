"""An e-mail body as operators read it: HTML turned into plain text, and the quoted history and the
signature trimmed off (the full body is kept in the stored event; this is only the display text).

Trimming is heuristic (channels.md §6.2) and errs on the side of keeping text: when in doubt, or
when nothing would be left, the text stays as it was.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# --- HTML → text ----------------------------------------------------------------------------------

_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"})
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0]+")


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.parts: list[str] = []
        self.quote_depth = 0  # <blockquote> nesting: lines inside become "> "-quoted
        self.line_depth = 0
        self.skipping = 0
        self.pre = 0
        self.href = ""
        self.link_start = 0

    def _newline(self) -> None:
        text = "".join(self.parts)
        text = text.rstrip() if self.pre else text.strip()
        prefix = "> " * self.line_depth
        self.lines.append(f"{prefix}{text}" if text else prefix.rstrip())
        self.parts = []
        self.line_depth = self.quote_depth

    def _break(self) -> None:
        if "".join(self.parts).strip():
            self._newline()
        else:
            self.parts = []
            self.line_depth = self.quote_depth

    def _blank(self) -> None:
        self._break()
        if self.lines and self.lines[-1].strip("> "):
            self.lines.append(("> " * self.quote_depth).rstrip())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self._newline()
        elif tag in _BLOCK:
            self._blank() if tag in _PARAGRAPH else self._break()
            if tag == "blockquote":
                self.quote_depth += 1
                self.line_depth = self.quote_depth
            elif tag == "pre":
                self.pre += 1
            elif tag == "li":
                self.parts.append("- ")
            elif tag == "hr":
                self.lines.append("")
        elif tag == "a":
            self.href = next((value or "" for name, value in attrs if name == "href"), "")
            self.link_start = len("".join(self.parts))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK:
            self._blank() if tag in _PARAGRAPH else self._break()
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
                self.line_depth = self.quote_depth
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "a":
            label = "".join(self.parts)[self.link_start :].strip()
            if self.href.startswith(("http://", "https://")) and self.href not in label:
                self.parts.append(f" ({self.href})")
            self.href = ""

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.pre:
            data = _SPACE.sub(" ", data)
            if not "".join(self.parts).strip():
                data = data.lstrip()
        if data:
            if not self.parts:
                self.line_depth = self.quote_depth
            self.parts.append(data)

    def text(self) -> str:
        self._break()
        return _collapse_blank_lines("\n".join(self.lines))


def _collapse_blank_lines(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def html_to_text(html: str) -> str:
    """Readable plain text of an HTML body: no tags, scripts or styles; paragraphs and line breaks
    kept, links as "label (url)", and <blockquote> content "> "-quoted so it can be trimmed."""
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except (AssertionError, ValueError):  # html.parser gives up on some broken markup: keep what it read
        pass
    return parser.text()


# --- format=flowed (RFC 3676) ------------------------------------------------------------------------


def unflow(text: str, *, delsp: bool = False) -> str:
    """Join the soft line breaks of a format=flowed body (lines ending with a space)."""
    out: list[str] = []
    pending = ""
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line.startswith(">") or line == "-- ":
            if pending:
                out.append(pending)
                pending = ""
            out.append(line)
            continue
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if line.endswith(" "):
            pending += line[:-1] if delsp else line
        else:
            out.append(pending + line)
            pending = ""
    if pending:
        out.append(pending)
    return "\n".join(out)


# --- quoted history and signatures -----------------------------------------------------------------

_ORIGINAL_MESSAGE = re.compile(
    r"^-{2,}\s*(original message|исходное сообщение|пересланное сообщение от .*|ursprüngliche nachricht)\s*-{2,}$",
    re.IGNORECASE,
)
_ON_WROTE = re.compile(
    r"^(on\b.{0,200}\bwrote|am\b.{0,200}\bschrieb|le\b.{0,200}\ba écrit"
    r"|.{0,200}\b(написал|написала|написал\(а\)|написали|пишет|жазды))\s*:$",
    re.IGNORECASE,
)
# Gmail in Russian: "вт, 14 янв. 2025 г. в 10:15, Магазин <support@shop.kz>:" — a date or an
# address, ending with a colon, followed by a quoted block.
_ATTRIBUTION = re.compile(r"^.{0,200}(\d{1,2}:\d{2}|<[^<>\s]+@[^<>\s]+>|\S+@\S+\.\S+).{0,40}:$")
_HEADER_FROM = re.compile(r"^\*?(from|от|кімнен|von|de)\s*:\*?\s", re.IGNORECASE)
_HEADER_OTHER = re.compile(
    r"^\*?(sent|date|to|cc|subject|отправлено|дата|кому|копия|тема|жіберілді|gesendet|an|betreff|envoyé)\s*:\*?\s",
    re.IGNORECASE,
)
_RULE = re.compile(r"^_{8,}$|^-{8,}$")
_SENT_FROM = re.compile(
    r"^(sent from my .{1,40}|sent from (mail|outlook) for .{1,40}|get outlook for .{1,40}|sent from yandex.{0,40}"
    r"|отправлено (с|из) .{1,60}|послано с .{1,40}|жіберілді .{1,40})$",
    re.IGNORECASE,
)


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _next_content(lines: list[str], start: int) -> int:
    """The index of the first non-blank line at or after `start` (len(lines) if none)."""
    while start < len(lines) and not lines[start].strip():
        start += 1
    return start


def _attribution(lines: list[str], i: int) -> int:
    """How many lines (1 or 2) an "On … wrote:" attribution starting at line i spans; 0 if none."""
    line = lines[i].strip()
    if not line:
        return 0
    joined = f"{line} {lines[i + 1].strip()}" if i + 1 < len(lines) else line
    for text, span in ((line, 1), (joined, 2)):
        if _ON_WROTE.match(text):
            return span
        if _ATTRIBUTION.match(text):
            after = _next_content(lines, i + span)
            if after < len(lines) and _is_quoted(lines[after]):
                return span
    return 0


def _header_block(lines: list[str], i: int) -> bool:
    """Outlook's "From: … / Sent: … / To: …" block above a forwarded or replied-to message."""
    if not _HEADER_FROM.match(lines[i].strip()):
        return False
    following = [line.strip() for line in lines[i + 1 : i + 5] if line.strip()]
    return sum(bool(_HEADER_OTHER.match(line)) for line in following[:3]) >= 2


def _cut_history(lines: list[str]) -> list[str]:
    for i, raw in enumerate(lines):
        line = raw.strip()
        if _ORIGINAL_MESSAGE.match(line) or _header_block(lines, i):
            return lines[:i]
        if _RULE.match(line):
            after = _next_content(lines, i + 1)
            if after < len(lines) and _header_block(lines, after):
                return lines[:i]
        span = _attribution(lines, i)
        if span:
            quoted = _next_content(lines, i + span)
            if quoted < len(lines) and _is_quoted(lines[quoted]):
                # "> "-quoted history: drop it and keep what follows (a bottom-posted answer).
                end = quoted
                while end < len(lines) and (_is_quoted(lines[end]) or not lines[end].strip()):
                    end += 1
                return lines[:i] + _cut_history(lines[end:])
            return lines[:i]
    return lines


def _strip_quoted_edges(lines: list[str]) -> list[str]:
    """Drop a "> "-quoted block at the very end, and one at the very start when an answer follows."""
    end = len(lines)
    while end > 0 and (_is_quoted(lines[end - 1]) or not lines[end - 1].strip()):
        end -= 1
    lines = lines[:end]
    start = 0
    while start < len(lines) and (_is_quoted(lines[start]) or not lines[start].strip()):
        start += 1
    return lines[start:]


def _cut_signature(lines: list[str]) -> list[str]:
    for i in range(len(lines) - 1, 0, -1):
        if lines[i].rstrip() == "--" or lines[i] == "-- ":
            if any(line.strip() for line in lines[:i]):
                lines = lines[:i]
            break
    content = [i for i, line in enumerate(lines) if line.strip()]
    for i in reversed(content[-2:]):
        if i > 0 and _SENT_FROM.match(lines[i].strip()):
            lines = lines[:i]
    return lines


def trim_reply(text: str) -> str:
    """The new part of a reply: without the quoted history below it and without the signature.
    The whole text when trimming would leave nothing (a message that is all quote)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = _cut_history(lines)
    lines = _strip_quoted_edges(lines)
    lines = _cut_signature(lines)
    trimmed = _collapse_blank_lines("\n".join(line.rstrip() for line in lines))
    return trimmed or text.strip()
