"""Charts drawn in the converter process are the charts drawn in process, byte for byte.

The converter (``reportgen.render.converter``) runs vl-convert in a process of its own so a
build's chart stage uses two cores. What it must not change: the SVG (a PDF must look the
same), vl-convert's errors, and a chart still drawn when the process is gone.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import altair as alt
import pytest
import vl_convert as vlc

from reportgen.render import charts
from reportgen.render.converter import ChartConverter, ConverterGoneError


def _line_spec(seed: int) -> dict:
    """A spec full of 17-digit floats: a JSON reader that rounds one moves a point."""
    rng = random.Random(seed)
    values = [{"x": i, "y": rng.random() * 1000 / 3} for i in range(120)]
    chart = alt.Chart(alt.Data(values=values)).mark_line(point=True).encode(x="x:Q", y="y:Q")
    spec = chart.to_dict(validate=False)
    spec["config"] = charts.THEME["config"]
    return spec


def _in_process(spec: dict) -> str:
    charts.register_fonts()
    return vlc.vegalite_to_svg(spec)


@pytest.fixture(scope="module")
def converter():
    running = ChartConverter(charts.FONT_DIR)
    yield running
    running.close()


def test_the_svg_is_the_one_drawn_in_process(converter):
    for seed in range(3):
        spec = _line_spec(seed)
        assert converter.convert(spec) == _in_process(spec)


def test_answers_go_to_their_own_callers_from_many_threads(converter):
    specs = [_line_spec(seed) for seed in range(12)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        drawn = list(pool.map(converter.convert, specs))
    assert drawn == [_in_process(spec) for spec in specs]
    assert len(set(drawn)) == len(specs)


def test_vl_convert_errors_are_value_errors_with_its_message(converter):
    with pytest.raises(ValueError, match="Vega-Lite to SVG conversion failed"):
        converter.convert({"mark": 5})
    # and the process goes on answering
    spec = _line_spec(7)
    assert converter.convert(spec) == _in_process(spec)


def test_a_dead_process_fails_what_it_owed_and_refuses_more():
    converter = ChartConverter(charts.FONT_DIR)
    try:
        converter._process.kill()
        converter._process.wait()
        converter._reader.join(timeout=10)
        with pytest.raises(ConverterGoneError):
            converter.convert(_line_spec(1))
    finally:
        converter.close()


def test_charts_drawn_while_converting_match_and_survive_a_dead_process():
    rows = [{"name": f"Product {i}", "value": 1000 / (i + 3)} for i in range(8)]

    def drawn() -> str:
        return charts.to_svg(
            charts.bar_chart(rows, "name", "value", category_title=None, value_title="Value")
        )

    alone = drawn()
    with charts.converting():
        converter = charts._converter
        assert converter is not None
        assert drawn() == alone
        converter._process.kill()
        converter._process.wait()
        converter._reader.join(timeout=10)
        assert drawn() == alone  # drawn in this process instead
    assert charts._converter is None
    assert converter._process.poll() is not None


def test_the_block_ends_its_process_and_its_reader():
    with charts.converting():
        converter = charts._converter
        assert converter._process.poll() is None
    assert converter._process.poll() is not None
    assert not converter._reader.is_alive()
    assert not [t for t in threading.enumerate() if t is converter._reader]


def test_charts_are_drawn_here_when_no_process_can_start(monkeypatch):
    import reportgen.render.converter as converter_module

    def refused(*args, **kwargs):
        raise PermissionError("no new processes here")

    rows = [{"name": "A", "value": 3}, {"name": "B", "value": 5}]

    def drawn() -> str:
        chart = charts.bar_chart(rows, "name", "value", category_title=None, value_title="V")
        return charts.to_svg(chart)

    alone = drawn()
    monkeypatch.setattr(converter_module.subprocess, "Popen", refused)
    with charts.converting():
        assert charts._converter is None
        assert drawn() == alone
