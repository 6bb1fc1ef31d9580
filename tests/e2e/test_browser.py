"""The real-browser journey: upload two CSVs, save, train, reload the job URL, explore.

Drives the system Chromium (``/usr/bin/chromium``) with the Python playwright package against a real
``streamlit run app.py`` on a free loopback port, in a private MMCORR_HOME, with the embedded worker.
It never downloads a browser. Without Chromium it skips, unless MMCORR_REQUIRE_E2E=1 (CI), where a
missing browser is a failure. With MMCORR_SCREENSHOTS=1 its screenshots refresh the README (docs/screenshots/).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2e_server import CHROMIUM, CHROMIUM_ARGS, dashboard, wait_app_idle

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "_artifacts"
# The README's screenshots are refreshed only on request, so a test run leaves the tree clean.
SCREENSHOTS = ROOT / "docs" / "screenshots" if os.environ.get("MMCORR_SCREENSHOTS") == "1" else ARTIFACTS
TRAIN_TIMEOUT_MS = 180_000

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _write_csvs(folder: Path, n: int = 150, seed: int = 0) -> tuple[Path, Path]:
    """Two small CSVs sharing an id column and a 2-D latent signal (rows shuffled in the second)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2))
    a = z @ rng.normal(size=(2, 6)) + 0.3 * rng.normal(size=(n, 6))
    b = z @ rng.normal(size=(2, 5)) + 0.3 * rng.normal(size=(n, 5))
    ids = np.array([f"cell{i:03d}" for i in range(n)])
    order = rng.permutation(n)
    path_a, path_b = folder / "rna.csv", folder / "protein.csv"
    header_a = "cell_id," + ",".join(f"gene{j}" for j in range(6))
    header_b = "cell_id," + ",".join(f"prot{j}" for j in range(5))
    rows_a = [f"{ids[i]}," + ",".join(f"{v:.5f}" for v in a[i]) for i in range(n)]
    rows_b = [f"{ids[i]}," + ",".join(f"{v:.5f}" for v in b[i]) for i in order]
    path_a.write_text("\n".join([header_a, *rows_a]) + "\n", encoding="utf-8")
    path_b.write_text("\n".join([header_b, *rows_b]) + "\n", encoding="utf-8")
    return path_a, path_b


def _screenshot(page: Any, path: Path) -> None:
    """A tall viewport: Streamlit scrolls inside its own container, so full_page alone is not enough."""
    page.set_viewport_size({"width": 1440, "height": 1500})
    page.wait_for_timeout(1500)  # let plotly re-layout to the new size
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 1000})


def _wait_worker_alive(home: Path, timeout: float = 60.0) -> None:
    check = "from mmcorr.jobs import worker_status; raise SystemExit(0 if worker_status().alive else 1)"
    env = {**os.environ, "MMCORR_HOME": str(home)}
    deadline = time.monotonic() + timeout
    while subprocess.run([sys.executable, "-c", check], env=env).returncode != 0:
        assert time.monotonic() < deadline, f"no worker came up within {timeout:.0f} s of the first page view"
        time.sleep(0.5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``streamlit run app.py`` on a free loopback port, with its own home and embedded worker."""
    with dashboard(tmp_path) as url:
        yield url


def test_upload_train_reload_explore(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    csv_a, csv_b = _write_csvs(tmp_path)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            # 1. Data: two uploads, the pairing report, save.
            page.goto(f"{server}/data")
            expect(page.get_by_role("heading", name="Data")).to_be_visible()
            # the first page view starts the embedded worker (no Train page visited yet)
            _wait_worker_alive(tmp_path / "home")
            uploads = page.locator('[data-testid="stFileUploader"] input[type="file"]')
            uploads.nth(0).set_input_files(str(csv_a))
            expect(page.get_by_text("Upload 1 more file(s)")).to_be_visible()
            uploads.nth(1).set_input_files(str(csv_b))
            # Reading and pairing two uploads is a server round trip: allow a busy machine its time.
            expect(page.get_by_role("heading", name="Pairing report")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("150", exact=True).first).to_be_visible()
            page.get_by_role("button", name="Save dataset").click()
            expect(page.get_by_text(re.compile(r"Saved as dataset"))).to_be_visible(timeout=30_000)

            # 2. Train: linear CCA (closed form: the journey tests the plumbing, not the model).
            page.get_by_role("link", name="Train a model on it").click()
            expect(page.get_by_role("heading", name="Train", exact=True)).to_be_visible()
            page.locator('[data-testid="stSelectbox"]').filter(has_text="Model").click()
            page.get_by_role("option", name="cca", exact=True).click()
            expect(page.get_by_text("Linear CCA (closed form")).to_be_visible()
            latent = page.get_by_role("spinbutton", name="Latent size")
            latent.fill("3")
            latent.press("Enter")
            wait_app_idle(page)
            page.get_by_role("button", name="Train", exact=True).click()
            page.wait_for_url(re.compile(r"[?&]job="), timeout=60_000)
            final = page.get_by_text(re.compile(r"^(succeeded|failed|cancelled)$"))
            expect(final).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
            assert final.inner_text() == "succeeded", page.get_by_role("alert").all_inner_texts()
            job_url = page.url

            # 3. Reload the shared link: the same job, the same state.
            page.goto(job_url)
            expect(page.get_by_text("succeeded", exact=True)).to_be_visible()
            job_id = re.search(r"job=([A-Za-z0-9_\-]+)", job_url)
            assert job_id is not None
            expect(page.get_by_text(f"Job {job_id.group(1)}", exact=False)).to_be_visible()
            wait_app_idle(page)
            _screenshot(page, SCREENSHOTS / "train.png")

            # 4. Explore: headline numbers, the heatmaps, then the UMAP.
            page.get_by_role("link", name="Explore this run").click()
            expect(page.get_by_role("heading", name="Explore")).to_be_visible()
            expect(page.get_by_text("Recall@1", exact=False).first).to_be_visible()
            heatmaps = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot .heatmaplayer')
            expect(heatmaps.first).to_be_attached(timeout=60_000)
            assert heatmaps.count() >= 1
            wait_app_idle(page)
            _screenshot(page, SCREENSHOTS / "explore.png")
            page.get_by_role("tab", name="Shared latent space").click()
            umap = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="UMAP")
            expect(umap.first).to_be_visible()
            expect(umap.first.locator("canvas").first).to_be_attached()
            wait_app_idle(page)
            _screenshot(page, SCREENSHOTS / "explore_umap.png")

            # 5. A lasso around most of the UMAP exports the selected sample ids as CSV.
            box = umap.first.locator(".nsewdrag").first.bounding_box()
            assert box is not None
            x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
            corners = [(0.05, 0.05), (0.95, 0.05), (0.95, 0.95), (0.05, 0.95), (0.05, 0.06)]
            page.mouse.move(x0 + w * corners[0][0], y0 + h * corners[0][1])
            page.mouse.down()
            for fx, fy in corners[1:]:
                page.mouse.move(x0 + w * fx, y0 + h * fy, steps=8)
            page.mouse.up()
            export = page.get_by_role("button", name=re.compile(r"Export \d+ selected sample ids"))
            expect(export).to_be_visible(timeout=30_000)
            selected = int(re.findall(r"\d+", export.inner_text())[0])
            with page.expect_download() as download:
                export.click()
            download.value.save_as(tmp_path / "selected.csv")
            exported = (tmp_path / "selected.csv").read_text().splitlines()
            assert exported[0] == "id" and len(exported) - 1 == selected > 0
            assert set(exported[1:]) <= {f"cell{i:03d}" for i in range(150)}, exported[:5]
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "e2e_failure.png"), full_page=True)
            raise
        finally:
            browser.close()
