"""Chart SVG: labels are text whatever they say; markup that could run or fetch is refused.

Regression: a product named ``… src="…"`` crashed the build with ``ValueError: chart SVG
refers to an external resource`` (the check read the label text, not the attributes), and
a control character in a label aborted the whole process inside vl-convert.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from reportgen.render.charts import bar_chart, clean_svg, to_svg

HOSTILE = [
    '<img src="https://evil.example/x.png" onerror="alert(1)">',
    "<script>alert('x')</script>",
    'Quote " and \' and & and id="clip1" and url(#clip1) and href="#x"',
    "שלום עולם — RTL",
    "Emoji 😀🛒",
    "Control\x01char\x0band\x00nul",
    "W" * 10_000,
]


def labels(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)
    return ["".join(e.itertext()) for e in root.iter() if e.tag.endswith("}text")]


def test_hostile_labels_render_as_text():
    rows = [{"name": name, "value": 10 - i} for i, name in enumerate(HOSTILE)]
    svg = to_svg(bar_chart(rows, "name", "value", category_title=None, value_title="Value"))
    texts = labels(svg)
    assert any(t.startswith('<img src="https://evil.example/x.png"') for t in texts)
    assert "<script>alert('x')</script>" in texts
    assert "Control\ufffdchar\ufffdand\ufffdnul" in texts  # XML cannot hold the originals
    root = ElementTree.fromstring(svg)
    tags = {e.tag.rsplit("}", 1)[-1] for e in root.iter()}
    assert not tags & {"script", "img", "foreignObject"}
    assert not [a for e in root.iter() for a in e.attrib if a.startswith("on")]


def test_ids_and_their_references_get_one_prefix_labels_do_not():
    svg = (
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<defs><clipPath id="clip1"><rect/></clipPath></defs>'
        '<g clip-path="url(#clip1)"><use xlink:href="#clip1"/>'
        '<text aria-label="id=&quot;clip1&quot;">id="clip1" url(#clip1) href="#clip1"</text>'
        "</g></svg>"
    )
    cleaned = clean_svg(svg)
    prefix = re.search(r' id="(c[0-9a-f]{8}-)clip1"', cleaned).group(1)
    assert f'clip-path="url(#{prefix}clip1)"' in cleaned
    assert f'xlink:href="#{prefix}clip1"' in cleaned
    assert '>id="clip1" url(#clip1) href="#clip1"</text>' in cleaned
    assert not cleaned.startswith("<?xml")


@pytest.mark.parametrize(
    ("svg", "problem"),
    [
        ("<script>alert(1)</script>", "<script> element"),
        ("<foreignObject><div/></foreignObject>", "<foreignobject> element"),
        ('<rect onload="alert(1)"/>', "event handler attribute 'onload'"),
        ('<a href="https://evil.example/">x</a>', "external resource (href="),
        ('<use xlink:href="https://evil.example/#a"/>', "external resource (href="),
        ('<image src="x.png"/>', "external resource (src="),
        ('<rect style="fill: url(https://evil.example/p)"/>', "style that refers"),
        ('<style>@import "https://evil.example/x.css";</style>', "stylesheet that refers"),
    ],
)
def test_active_content_is_refused(svg, problem):
    document = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        f"{svg}</svg>"
    )
    with pytest.raises(ValueError, match=re.escape(problem)):
        clean_svg(document)
