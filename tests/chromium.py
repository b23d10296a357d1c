"""Headless Chromium (Debian package ``chromium``) for the email layout tests and screenshots.

Headless Chromium will not make a window narrower than 500 px, so a narrow screen is an iframe of
that width in a host page. The email is loaded from a file; ``--allow-file-access-from-files``
lets the host page's script read the iframe's document to measure it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from html import escape, unescape
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--allow-file-access-from-files",
    "--virtual-time-budget=10000",
)

_MEASURE = """
<script>
window.addEventListener("load", () => {
  const out = {};
  for (const frame of document.querySelectorAll("iframe")) {
    const doc = frame.contentDocument;
    const width = frame.clientWidth;
    const wide = [];
    for (const el of doc.body.querySelectorAll("*")) {
      const box = el.getBoundingClientRect();
      if (box.width > 0 && box.right > width + 0.5)
        wide.push(el.tagName + "." + el.className + " " + Math.round(box.right));
    }
    out[frame.id] = {
      width: width,
      scrollWidth: Math.max(doc.documentElement.scrollWidth, doc.body.scrollWidth),
      compatMode: doc.compatMode,
      overflowing: wide.slice(0, 10),
    };
  }
  const pre = document.createElement("pre");
  pre.id = "measurements";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>
"""


def host_page(email_file: Path, widths: tuple[int, ...], *, height: int, measure: bool) -> str:
    frames = "".join(
        f'<iframe id="w{w}" src="{escape(email_file.as_uri())}" width="{w}" height="{height}" '
        f'style="border:0;display:block;margin:0 0 20px;background:#fff"></iframe>'
        for w in widths
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'></head>"
        f"<body style='margin:0;background:#888'>{frames}{_MEASURE if measure else ''}</body></html>"
    )


def measure_widths(html: str, widths: tuple[int, ...]) -> dict[int, dict[str, object]]:
    """Render ``html`` in iframes of ``widths`` px; each width's scrollWidth, mode, overflowing elements."""
    assert CHROMIUM, "chromium is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        email = folder / "email.html"
        email.write_text(html, encoding="utf-8")
        host = folder / "host.html"
        host.write_text(host_page(email, widths, height=1000, measure=True), encoding="utf-8")
        result = subprocess.run(
            [
                CHROMIUM,
                *FLAGS,
                f"--user-data-dir={folder / 'profile'}",
                "--window-size=800,1000",
                "--dump-dom",
                host.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    found = re.search(r'<pre id="measurements">(.*?)</pre>', result.stdout, re.S)
    assert found, f"no measurements in Chromium's DOM: {result.stdout[-2000:]} {result.stderr[-2000:]}"
    data = json.loads(unescape(found.group(1)))
    return {int(key[1:]): value for key, value in data.items()}


def screenshot(html: str, width: int, out: Path, *, height: int = 5000, dark: bool = False) -> Path:
    """Save a PNG of ``html`` at ``width`` px (inside a grey host window when narrower than 500);
    ``dark`` makes ``prefers-color-scheme: dark`` match."""
    assert CHROMIUM, "chromium is not installed"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        email = folder / "email.html"
        email.write_text(html, encoding="utf-8")
        host = folder / "host.html"
        host.write_text(host_page(email, (width,), height=height, measure=False), encoding="utf-8")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                CHROMIUM,
                *FLAGS,
                *(["--force-dark-mode"] if dark else []),
                f"--user-data-dir={folder / 'profile'}",
                f"--window-size={max(width, 500)},{height}",
                f"--screenshot={out.resolve()}",
                host.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
    return out
