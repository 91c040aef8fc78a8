"""The run report and the trend page as a real browser shows them (Debian's headless chromium).

The HTML tests read numbers; these read what a person sees: a copy of the
page gets a script that, once everything has loaded, measures the page and
writes what it found into ``<body data-...>``; ``chromium --dump-dom`` prints
the DOM after the load, and the test reads those attributes back. Checked: every
image decodes, nothing is wider than the window (a wide table scrolls in its
own box), and on the trend page a regression is red and its plot marked.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import CONSOLE, DEADLINE, FULL, sample_frame, scalar_frame, synthetic_values
from test_trend import BASE_SUMMARY, _store_run

from lab.evaluation.summary import PAPER
from lab.results.report import render_run_report
from lab.results.store import ResultStore
from lab.results.trend import detect, figures_frame
from lab.results.trend_report import render_trend_report

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
TIMEOUT_S = 120
# Runs once the page has loaded (images decoded): its findings as body data- attributes.
MEASURE = """
<script>
window.addEventListener("load", () => {
  const root = document.documentElement, body = document.body, found = {};
  found.scrollWidth = root.scrollWidth;
  found.clientWidth = root.clientWidth;
  found.overflow = root.scrollWidth > root.clientWidth;
  const images = Array.from(document.images);
  found.images = images.length;
  found.brokenImages = images.filter(i => !i.complete || i.naturalWidth === 0).length;
  found.tablesOutsideScroll = Array.from(document.querySelectorAll("table"))
    .filter(t => !t.closest("div.scroll")).length;
  // Boxes whose table is wider than they are (they scroll): by table id.
  found.scrollingTables = Array.from(document.querySelectorAll("div.scroll"))
    .filter(box => box.scrollWidth > box.clientWidth)
    .map(box => box.querySelector("table").id).join(" ");
  const style = e => e ? getComputedStyle(e) : null;
  const regression = document.querySelector("li.regression");
  found.regressionColour = regression ? style(regression).color : "none";
  const section = document.querySelector("#regressions");
  found.regressionsBackground = section ? style(section).backgroundColor : "none";
  const marked = Array.from(document.querySelectorAll("figure[data-regression]"));
  found.markedFigures = marked.map(f => f.dataset.metric).join(" ");
  found.markedBorders = marked.map(f => style(f).borderTopColor).join(";");
  found.markedImagesLoaded = marked.filter(f => {
    const img = f.querySelector("img");
    return img && img.naturalWidth > 0;
  }).length;
  const cell = document.querySelector("td.regressed");
  found.regressedCellBackground = cell ? style(cell).backgroundColor : "none";
  for (const [key, value] of Object.entries(found)) body.dataset[key] = String(value);
  body.dataset.measured = "yes";
});
</script>
"""


def _chromium_or_skip() -> str:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (Debian's package chromium, which env/setup.sh "
                    "installs): the pages are not checked in a real browser")
    return CHROMIUM


def seen(page: Path, tmp_path: Path, width: int = 1280) -> dict[str, str]:
    """What the browser found on ``page`` at ``width`` px: the body's data- attributes."""
    chromium = _chromium_or_skip()
    probe = page.with_name(f"{page.stem}.probe-{width}.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", MEASURE + "</body>"),
                     encoding="utf-8")
    profile = tmp_path / f"chromium-profile-{width}"
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", f"--window-size={width},2000",
         "--hide-scrollbars", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert done.returncode == 0 and body, f"chromium failed: {done.stderr[-2000:]}"
    found = dict(re.findall(r'data-([\w-]+)="([^"]*)"', body.group(1)))
    assert found.get("measured") == "yes", f"the page's script did not run: {done.stderr[-2000:]}"
    return found


def _reddish(colour: str) -> bool:
    """rgb(r, g, b) or rgba(...) with red clearly above green and blue."""
    channels = [int(float(c)) for c in re.findall(r"[\d.]+", colour)[:3]]
    return len(channels) == 3 and channels[0] > 120 and channels[0] > 1.5 * max(channels[1:])


def _pinkish(colour: str) -> bool:
    channels = [int(float(c)) for c in re.findall(r"[\d.]+", colour)[:3]]
    return len(channels) == 3 and channels[0] > channels[1] + 15 and channels[0] > channels[2] + 15


@pytest.fixture(scope="module")
def run_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser-report")
    store = ResultStore(folder / "results.sqlite")
    store.add_run(FULL, sample_frame(synthetic_values()), scalar_frame(DEADLINE, CONSOLE),
                  {"commit": FULL.commit, "paper": PAPER})
    return render_run_report(store, FULL.run_id, folder / "report.html")


@pytest.fixture(scope="module")
def trend_page(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("browser-trend")
    store = ResultStore(folder / "results.sqlite")
    for night in range(6):
        _store_run(store, night, BASE_SUMMARY)
    worse = copy.deepcopy(BASE_SUMMARY)
    worse["context_switch_ns"]["ovm"]["mean"] *= 1.39  # the 39% jump of the issue
    newest = _store_run(store, 6, worse, commit="slow123")
    frame = figures_frame(store)
    page = render_trend_report(frame, detect(frame), folder / "nightly" / "trend.html", window=5,
                               source="the local store", store=store)
    return page, newest.run_id


@pytest.mark.parametrize("width", [1280, 1000])
def test_the_run_report_fits_and_every_image_loads(run_report: Path, tmp_path: Path,
                                                   width: int) -> None:
    found = seen(run_report, tmp_path, width)
    assert int(found["images"]) >= 6 and found["broken-images"] == "0", found
    assert found["overflow"] == "false", (
        f"the page is {found['scroll-width']} px wide in a {found['client-width']} px window")
    assert found["tables-outside-scroll"] == "0"
    if width >= 1280:
        # At 1280 px every table fits as it is; narrower, the percentiles scroll in their box.
        assert found["scrolling-tables"] == "", found["scrolling-tables"]


def test_the_trend_page_fits_and_marks_the_regression(trend_page: tuple[Path, str],
                                                      tmp_path: Path) -> None:
    page, newest = trend_page
    found = seen(page, tmp_path)
    assert int(found["images"]) >= 10 and found["broken-images"] == "0", found
    assert found["overflow"] == "false", (
        f"the page is {found['scroll-width']} px wide in a {found['client-width']} px window")
    assert found["tables-outside-scroll"] == "0"
    # The regression: red text on a tinted section, its plot framed in red, its cell coloured.
    assert _reddish(found["regression-colour"]), found["regression-colour"]
    assert _pinkish(found["regressions-background"]), found["regressions-background"]
    assert found["marked-figures"] == "context_switch_ns.ovm.mean"
    assert _reddish(found["marked-borders"]) and found["marked-images-loaded"] == "1"
    assert _pinkish(found["regressed-cell-background"]), found["regressed-cell-background"]
    assert f'data-regression="{newest}"' in page.read_text(encoding="utf-8")


def test_the_linked_run_reports_load_too(trend_page: tuple[Path, str], tmp_path: Path) -> None:
    page, newest = trend_page
    report = page.parent / "runs" / f"report-{newest}.html"
    assert f'href="runs/{report.name}"' in page.read_text(encoding="utf-8")
    found = seen(report, tmp_path)
    assert found["broken-images"] == "0" and found["overflow"] == "false", found
