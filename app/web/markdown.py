"""The small Markdown subset task instructions use (headings, bold, code, lists, tables,
paragraphs), rendered safely: the text is escaped first, so nothing in it becomes live HTML."""
import re

from markupsafe import Markup, escape

_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_ITEM = re.compile(r"^\s*[-*]\s+(.*)$")
_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


def _inline(text: str) -> str:
    html = str(escape(text))
    html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    return html


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _table(lines: list[str]) -> str:
    header, body = (lines[0], lines[2:]) if len(lines) > 1 and _RULE.match(lines[1]) \
        else (None, lines)
    out = ['<div class="table-scroll"><table class="compact">']
    if header:
        out.append("<thead><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in _cells(header))
                   + "</tr></thead>")
    out.append("<tbody>" + "".join(
        "<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in _cells(row)) + "</tr>"
        for row in body) + "</tbody></table></div>")
    return "".join(out)


def render(text: str | None) -> Markup:
    if not text:
        return Markup("")
    out, lines, i = [], text.replace("\r\n", "\n").split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif heading := _HEADING.match(line):
            level = min(len(heading.group(1)) + 1, 6)  # the page has its own h1
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
        elif line.lstrip().startswith("|"):
            block = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                block.append(lines[i])
                i += 1
            out.append(_table(block))
        elif _ITEM.match(line):
            items = []
            while i < len(lines) and (item := _ITEM.match(lines[i])):
                items.append(f"<li>{_inline(item.group(1))}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        else:
            block = []
            while i < len(lines) and lines[i].strip() and not _HEADING.match(lines[i]) \
                    and not lines[i].lstrip().startswith("|") and not _ITEM.match(lines[i]):
                block.append(_inline(lines[i]))
                i += 1
            out.append("<p>" + "<br>".join(block) + "</p>")
    return Markup("".join(out))
