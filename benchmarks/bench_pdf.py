"""Lay out a report's print HTML with WeasyPrint and write its PDF: the "pdf" stage alone.

    python benchmarks/bench_pdf.py keep CONFIG MONTH PRINT_HTML   # build once, keep its HTML
    python benchmarks/bench_pdf.py run PRINT_HTML                 # time the pdf stage

``keep`` runs ``reportgen build --config CONFIG --month MONTH --force`` and saves the print
variant of the page it hands WeasyPrint; ``run`` lays that file out and writes its PDF,
printing the layout and write times and the page count. Compare two variants (say, the
stylesheet before and after a change) as whole processes, alternating: see
docs/performance.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def keep(config: str, month: str, target: Path) -> None:
    import reportgen.render.html as html
    from reportgen.cli.app import main

    write_pdf = html.write_pdf

    def kept(page: str, pdf: Path) -> None:
        target.write_text(page)
        write_pdf(page, pdf)

    html.write_pdf = kept
    sys.argv = ["reportgen", "build", "--config", config, "--month", month, "--force"]
    main()


def run(source: Path) -> None:
    started = time.perf_counter()
    from weasyprint import HTML

    from reportgen.render.html import PACKAGE_DIR

    imported = time.perf_counter()
    document = HTML(string=source.read_text(), base_url=f"{PACKAGE_DIR.as_uri()}/").render()
    laid_out = time.perf_counter()
    document.write_pdf("/tmp/bench_pdf.pdf")
    done = time.perf_counter()
    print(
        f"import {imported - started:.2f} s, layout {laid_out - imported:.2f} s, "
        f"write {done - laid_out:.2f} s, {len(document.pages)} pages"
    )


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "keep":
        keep(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
    elif len(sys.argv) == 3 and sys.argv[1] == "run":
        run(Path(sys.argv[2]))
    else:
        sys.exit(__doc__)
