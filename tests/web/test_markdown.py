"""Task instructions: the Markdown subset the diagrams use, with nothing in it live HTML."""
from app.web.markdown import render

PICK = """### Pick and pack SH-1

Pick list **SH-1** for order SO-1.
| Line | Line id | SKU |
|---|---|---|
| 1 | 17 | W-1 |

- **Reason:** over the limit
- second"""


def test_headings_bold_tables_and_lists():
    html = str(render(PICK))
    assert html.startswith("<h4>Pick and pack SH-1</h4>")
    assert "<p>Pick list <strong>SH-1</strong> for order SO-1.</p>" in html
    assert "<thead><tr><th>Line</th><th>Line id</th><th>SKU</th></tr></thead>" in html
    assert "<tbody><tr><td>1</td><td>17</td><td>W-1</td></tr></tbody>" in html
    assert "<ul><li><strong>Reason:</strong> over the limit</li><li>second</li></ul>" in html


def test_html_in_the_text_stays_text():
    html = str(render('<script>alert(1)</script> **<img src=x onerror=alert(1)>**'))
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "<strong>&lt;img" in html
    assert str(render(None)) == ""
