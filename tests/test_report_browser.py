"""The local HTML data report in a real headless Chromium: it renders, every embedded image decodes, no console error.

Chromium comes from Debian's packages: the test uses /usr/bin/chromium, or installs it
with apt-get when it runs as root. Under CI=true a missing browser fails the test.
TRACEBLOC_UPDATE_SCREENSHOTS=1 copies the screenshots to docs/report-tabular.png and
docs/report-image.png (the ones the README shows).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TB = os.path.join(os.path.dirname(sys.executable), "tb-ingest")
# Console messages are logged to stderr as [...:INFO:CONSOLE:<line>] "text", source: ...
CONSOLE = re.compile(r":CONSOLE[:(]\d+\)?\] \"(.*)\", source: ")
# Runs in the test's copy only: the report itself holds no script.
PROBE = """<script>
window.addEventListener("load", () => {
  const images = [...document.images];
  const broken = images.filter((img) => !(img.complete && img.naturalWidth > 0));
  if (broken.length) console.error("probe: " + broken.length + " images did not decode");
  console.log("probe: " + images.length + " images decoded, " + document.querySelectorAll("section").length + " sections");
});
</script>"""
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
]


@pytest.fixture(scope="session")
def chromium():
    found = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if found is None and hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, capture_output=True, timeout=1200)
        found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is needed to check the data report (apt-get install chromium)")
        pytest.skip("no Chromium (apt-get install chromium)")
    return found


def browse(chromium, page: Path, tmp_path: Path, *extra: str):
    """Open ``page`` with the probe added; return (console messages, dumped DOM)."""
    probed = tmp_path / f"probed-{page.name}"
    probed.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"), encoding="utf-8")
    proc = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", "--virtual-time-budget=5000", *extra,
         probed.as_uri()],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return CONSOLE.findall(proc.stderr), proc.stdout


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACEBLOC_", "MYSQL_", "DB_", "CLIENT_", "BACKEND_"))}
    for key in ("DATABASE_URL", "LABEL_FILE", "TABLE_NAME", "SRC_PATH", "INGEST_CONFIG", "STORAGE_PATH"):
        env.pop(key, None)
    return {**env, **extra}


def report_of(tmp_path, distribution, category):
    html = tmp_path / f"{category}.report.html"
    proc = subprocess.run(
        [TB, "--config", str(ROOT / distribution / "templates" / category / "ingest.yaml"), "--output-dir", str(tmp_path / "out"),
         "--storage-path", str(tmp_path / "shared"), "--report-html", str(html), "--quiet"],
        capture_output=True, text=True, env=clean_env(), timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return html


def check(chromium, html: Path, tmp_path: Path, *, least_images: int, screenshot: str, texts: tuple[str, ...]):
    page = html.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)|url\(\s*["']?(https?:|//)|@import""", page, flags=re.I)
    shot = tmp_path / screenshot
    messages, _ = browse(chromium, html, tmp_path, "--window-size=1280,2600", f"--screenshot={shot}")
    assert len(messages) == 1 and messages[0].startswith("probe: "), messages
    decoded = int(messages[0].split()[1])
    assert decoded >= least_images, messages
    _, dom = browse(chromium, html, tmp_path, "--dump-dom")
    for text in texts:
        assert text in dom
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("TRACEBLOC_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, ROOT / "docs" / screenshot)


def test_the_probe_catches_console_errors_and_undecoded_images(chromium, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><img src="data:image/png;base64,AAAA"><script>console.error("boom")</script></body></html>')
    messages, _ = browse(chromium, bad, tmp_path, "--dump-dom")
    assert "boom" in messages and "probe: 1 images did not decode" in messages


def test_tabular_sample_report_renders(chromium, tmp_path):
    html = report_of(tmp_path, "tracebloc-ingestor-tabular", "tabular_classification")
    texts = ("Data report: customers_sample", "Label distribution", "Column details", "signup_date", "Validation issues")
    check(chromium, html, tmp_path, least_images=6, screenshot="report-tabular.png", texts=texts)


def test_image_sample_report_renders_with_thumbnails(chromium, tmp_path):
    html = report_of(tmp_path, "tracebloc-ingestor-image", "image_classification")
    page = html.read_text(encoding="utf-8")
    assert page.count('class="thumb"') >= 4 and "Image resolutions" in page and "Image modes" in page
    texts = ("Data report: shapes_sample", "Sample images", "circle", "square")
    check(chromium, html, tmp_path, least_images=8, screenshot="report-image.png", texts=texts)
