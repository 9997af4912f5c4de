"""Regenerate the README's screenshots in docs/: a real `scripts/dev.sh` on a fresh instance and
data folder (the five samples), then Debian's Chromium (Playwright, no browser download) photographs
the asset graph, a partition list, materialization metadata, an evidence viewer and the cost report.

    .venv/bin/python scripts/screenshots.py

The PNGs are reduced to 256 colours to stay small. The samples are fictional patients.
"""

import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image
from playwright.sync_api import Page, sync_playwright

from medpipeline.devrun import DevRun
from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.samples import DISCHARGE_FILE

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
VIEWPORT = {"width": 1400, "height": 860}
SETTLE_MS = 6000  # the UI keeps polling, so "network idle" never comes; give it time to draw


def save(page: Page, name: str) -> Path:
    target = DOCS / f"{name}.png"
    page.screenshot(path=str(target))
    with Image.open(target) as image:
        image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
            target, optimize=True
        )
    print(f"{target.relative_to(REPO)}: {target.stat().st_size // 1024} KB")
    return target


def ui(page: Page, url: str, then: Callable[[Page], None] | None = None) -> None:
    """Open a UI page, dismiss the first-visit community dialog, let it draw, then act."""
    page.goto(url)
    page.wait_for_timeout(SETTLE_MS)
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.first.click()
        page.wait_for_timeout(500)
    if then:
        then(page)
        page.wait_for_timeout(1500)


def expand_groups(page: Page) -> None:
    """The lineage graph's settings menu: "Expand all groups" (shortcut Alt+E)."""
    page.keyboard.press("Alt+e")


def show_type_and_pages(page: Page) -> None:
    page.get_by_text("document_type", exact=True).first.scroll_into_view_if_needed()


def main() -> int:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium is not installed (scripts/setup.sh installs it as root)", file=sys.stderr)
        return 1
    DOCS.mkdir(exist_ok=True)
    sha256, _ = file_digests(REPO / "data" / "samples" / DISCHARGE_FILE)
    discharge = doc_id_from_sha256(sha256)
    with tempfile.TemporaryDirectory(prefix="medpipeline-screenshots-") as temp:
        with DevRun(REPO, Path(temp)) as run:
            run.wait_until(run.ui_answers, 600, "UI")
            run.wait_until(run.reports_ready, 1200, "bundles and reports")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium)
                page = browser.new_page(viewport=VIEWPORT, timezone_id="UTC")
                ui(page, f"{run.url}/asset-groups", expand_groups)
                save(page, "asset_graph")
                ui(page, f"{run.url}/assets/fhir_bundle?view=partitions")
                page.get_by_text(discharge, exact=True).first.click()
                page.wait_for_timeout(3000)
                save(page, "partitions")
                ui(page, f"{run.url}/assets/clinical_extractions?view=events", show_type_and_pages)
                save(page, "metadata")
                viewer = run.data_dir / "documents" / discharge / "evidence.html"
                page.goto(viewer.as_uri())
                page.locator('mark[data-kind="conditions"]').first.click()
                save(page, "evidence_viewer")
                page.goto((run.data_dir / "reports" / "cost_report.html").as_uri())
                save(page, "cost_report")
                browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
