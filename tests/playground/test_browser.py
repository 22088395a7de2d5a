"""The playground page in a real browser: Debian's chromium driven by Playwright. It plays,
draws the regions and the legend, shows a clicked point's equations with numbers, takes a
CSV upload, and logs no console error. The screenshots stay in the test's tmp_path.

Never `playwright install` (it downloads a browser build): this test needs /usr/bin/chromium
(`apt-get install -y chromium`, which .ci/run does) and fails, not skips, without it.
"""

import re
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from dlprimer.playground import Playground, serve
from dlprimer.playground.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")


def until(page, script: str, timeout: float = 20.0):
    """Poll a JavaScript expression until it is truthy. (Playwright's wait_for_function
    evaluates strings with eval, which the page's Content-Security-Policy forbids.)"""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = page.evaluate(f"() => {script}")
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"the page never had {script}")


PAINTED = """(() => {
  const c = document.getElementById('heatmap');
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const colours = new Set(); let inked = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && (data[i] < 245 || data[i + 1] < 245 || data[i + 2] < 245)) inked++;
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  }
  return {inked: inked / (c.width * c.height), colours: colours.size};
})()"""


def click_point(page, row: int) -> None:
    at = until(page, f"DP.pointOf({row})")
    page.mouse.click(at["x"], at["y"])


def test_the_page_plays_explains_and_takes_a_csv(tmp_path):
    assert CHROMIUM.exists(), ("Debian's chromium is not installed at /usr/bin/chromium: run "
                               "`apt-get install -y chromium` (.ci/run does); never "
                               "`playwright install`")
    csv = tmp_path / "penguins.csv"
    lines = ["bill_mm,flipper_mm,island,species"]
    for i in range(90):
        k = i % 3
        lines.append(f"{38 + 5 * k + (i * 7 % 5) / 2},{185 + 12 * k + (i * 3 % 7)},"
                     f"{['Biscoe', 'Dream', 'Torgersen'][i % 3 if i % 4 else 0]},"
                     f"{['Adelie', 'Chinstrap', 'Gentoo'][k]}")
    csv.write_text("\n".join(lines) + "\n")
    server = serve(Playground(settings=Settings(speed=0.0)), port=0).start()
    problems = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.goto(server.url)
            until(page, "window.DP && DP.started")

            # play, let it learn, pause
            page.click("#play")
            until(page, "Number(document.getElementById('epoch').textContent"
                        ".replace(/,/g, '')) >= 30")
            page.click("#play")
            until(page, "document.getElementById('status').textContent === 'paused'")
            painted = until(page, PAINTED)
            assert painted["inked"] > 0.5 and painted["colours"] > 100, painted
            legend = page.inner_text("#legend")
            assert "0" in legend and "1" in legend and "p(y = 1)" in legend
            assert "misclassified" in legend

            # a clicked point shows the primer's equations with its numbers
            click_point(page, 5)
            until(page, "document.getElementById('equations').textContent.includes('row 5')")
            equations = page.inner_text("#equations")
            assert "z[1] = b[1] + W[1] a[0] = (" in equations
            assert re.search(r"a\[3\] = σSig\(z\[3\]\) = \(\d", equations.replace("\n", ""))
            assert re.search(r"x̃1 = \(−?\d", equations.replace("₁", "1"))
            page.screenshot(path=str(tmp_path / "circle.png"), full_page=True)

            # the user's CSV: three classes, a category; Model II, softmax
            page.set_input_files("#upload", str(csv))
            until(page, "document.getElementById('data-info').textContent.includes('penguins.csv')")
            until(page, "document.getElementById('legend').textContent.includes('Gentoo')")
            legend = page.inner_text("#legend")
            assert all(name in legend for name in ("Adelie", "Chinstrap", "Gentoo"))
            page.select_option("#model", "II")
            until(page, "document.getElementById('model-title').textContent.includes('Model II')")
            for _ in range(3):
                page.click("#step")
                time.sleep(0.15)
            until(page, "document.getElementById('epoch').textContent === '3'")
            until(page, "document.getElementById('status').textContent === 'paused'")
            click_point(page, 7)
            until(page, "document.getElementById('equations').textContent.includes('row 7')")
            equations = page.inner_text("#equations")
            assert "“island=Dream”" in equations or "island" in equations
            assert "S" in equations and "Softmax" in equations
            assert re.search(r"z = b \+ W x̃ = \(−?\d", equations)
            assert "from the table" in equations
            page.screenshot(path=str(tmp_path / "penguins.png"), full_page=True)
            # the settings are in the address, to share
            assert "model=II" in page.url and "data=csv%3Apenguins.csv" in page.url
            browser.close()
    finally:
        server.close()
    assert problems == []
    assert (tmp_path / "circle.png").stat().st_size > 10_000
