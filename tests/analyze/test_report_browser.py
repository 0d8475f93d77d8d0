"""report.html in a real headless browser (Debian's chromium): a screenshot of the expected size that is not
blank, and the key sections in the rendered DOM. Skips where no chromium is installed."""

import re
import shutil
import subprocess

import numpy as np
import pytest

from smartclass.analyze.outputs import analyze_to_folder
from smartclass.analyze.pipeline import AnalyzeSettings, Analyzer

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.mark.skipif(BROWSER is None, reason="no chromium installed (.ci/run installs Debian's)")
def test_report_renders_in_headless_chromium(synth_small, tmp_path, doubles):
    import cv2

    src = synth_small
    det = doubles.TruthDetector(src.truth, AnalyzeSettings().stride(src.fps), flip=0.2)
    analyze_to_folder(Analyzer(det, AnalyzeSettings(video=False)), src, tmp_path / "out", {"detector": {"name": det.name}})
    page = (tmp_path / "out" / "report.html").resolve()
    html = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)|<link |url\(""", html)  # self-contained: no external asset
    common = [BROWSER, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "shot.png"
    subprocess.run(common + [f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[:2] == (2000, 1280)
    assert img.std() > 10  # not blank
    assert (np.abs(img.astype(int) - 255).sum(-1) > 60).mean() > 0.03  # real ink on the page
    dom = subprocess.run(common + ["--dump-dom", page.as_uri()], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    for section in ("overview", "engagement", "distribution", "timelines", "low-moments", "how-to-read"):
        assert f'id="{section}"' in dom
    assert dom.count("<rect") >= 6 and "data:image/jpeg;base64," in dom and "students seen" in dom


@pytest.mark.skipif(BROWSER is None, reason="no chromium installed (.ci/run installs Debian's)")
def test_timeline_labels_are_not_clipped_in_chromium(tmp_path):
    """Chromium lays out the per-student timelines of ids 1 … 12345; a script on the test page measures every
    label (getBBox) and writes what lies left of the SVG's edge into the DOM."""
    from smartclass.analyze.report import timelines_svg

    items = [{"start": 0.0, "end": 5.0, "behaviour": "write", "confidence": 0.9}]
    timelines = {sid: items for sid in (1, 10, 123, 12345)}
    svg = timelines_svg(timelines, 10.0, {"write": "#4477aa"})
    page = tmp_path / "labels.html"
    page.write_text(f"""<!doctype html><html><body style="margin:0">{svg}<pre id="out"></pre><script>
const out = [];
for (const t of document.querySelectorAll("svg text")) {{
  const b = t.getBBox();
  if (t.textContent.startsWith("student")) out.push(t.textContent + ":" + (b.x >= 0 ? "inside" : "clipped"));
}}
document.getElementById("out").textContent = out.join(",");
</script></body></html>""")
    dom = subprocess.run([BROWSER, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    labels = re.search(r'<pre id="out">([^<]*)</pre>', dom).group(1).split(",")
    assert labels == [f"student {sid}:inside" for sid in timelines]
