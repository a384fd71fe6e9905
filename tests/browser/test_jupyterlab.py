"""The course as a learner sees it: JupyterLab in a real browser, and every widget round-tripping.

nbval already runs every notebook (strict on solutions/, lax on the exercises). What only a browser
can show is what JupyterLab itself does with them, so this test covers exactly that:

- **JupyterLab opens quietly**: with the course's defaults (``attnlib.course.labsettings``, as ``make lab``
  installs them) a notebook opens with its own kernel (python3), with no dialog and no news pop-up;
- **a learner's first notebook runs**: ``notebooks/01`` (the exercise version, as built) runs from
  the Run menu, every check shows its grey "not attempted" line, the fallbacks say so, no cell
  writes an error, and its widget renders and answers its slider;
- **every widget of the course round-trips**: a gallery notebook (``tests/figures/widget_gallery.py``) builds
  each widget of ``attnlib.figures.widgets`` and ``attnlib.figures.beyond_widgets``; each renders, and moving its
  first slider changes its output through the kernel;
- **every notebook renders**: each solution notebook opens, all its cells and stored outputs render
  (its check lines show), and no widget shows an error. (The exercise notebooks are the same cells
  without outputs; the build's tests check them, and the first one runs above.)

A JupyterLab server starts on loopback with fresh config, data, runtime, settings and workspace
directories and serves a temporary copy of the course, so nothing of the learner's is opened or
saved. Headless Chromium (Debian's ``chromium``, driven by Playwright's Python package with
``executable_path``; no browser is downloaded) does the clicking. The test waits only on the page's
own state: the kernel connection and the notebook model are read through ``window.jupyterapp``
(``--LabApp.expose_app_in_browser``), never through a fixed sleep.

Why the waits are what they are (the cause of the stalls seen under load): JupyterLab shows the
status "idle" *before* a notebook's kernel is connected. A Run All clicked then either did nothing
(and a solution notebook, whose stored prompts already read [1]..[n], looked finished), or raced
JupyterLab's own start of the kernel: it then opened a second connection and the server discarded
the replies meant for the first, so cells stayed at [*] forever. So ``open_notebook`` waits for a
connected, idle kernel that stays the same for a second, and ``run_all`` clears the outputs first
and waits for every code cell of the model to get an execution count.

Screenshots go to ``test-artifacts/browser/``. The test runs only when ``COURSE_BROWSER`` is set
(``make test`` sets it to 1). Without chromium or playwright it skips, unless
``COURSE_BROWSER=required`` (set by .ci/run) makes that a failure.
"""
from __future__ import annotations

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

import nbformat
import pytest

from attnlib.course import build, labsettings
from attnlib.check import EXERCISES

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "figures"))
from widget_gallery import GALLERY, gallery_notebook  # noqa: E402

ENABLED = bool(os.environ.get("COURSE_BROWSER"))
REQUIRED = os.environ.get("COURSE_BROWSER") == "required"
CHROMIUM = os.environ.get("COURSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = build.REPO / "test-artifacts" / "browser"
NAMES = [p.name for p in sorted(build.SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))]
FIRST = NAMES[0]
PlaywrightTimeout = TimeoutError  # replaced by Playwright's own when it is imported
RUN_TIMEOUT_MS = 180_000  # one notebook's run: each is meant to take under 60 s
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CHECK_LINE = re.compile(r"([✔✘○]) (\w+): (passed|failed|not attempted)")
# test-only user settings: every cell in the page (no virtual scrolling), nothing saved
TEST_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}
SLIDER_HANDLE = ".widget-slider .noUi-handle, .widget-hslider .noUi-handle"
WIDGET_VIEW = ".jupyter-widgets.widget-container, .jupyter-widgets.widget-inline-hbox, .jupyter-widgets.widget-inline-vbox"
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


def unavailable(reason: str):
    """Skip (or, when the browser test is required, fail) with ``reason``."""
    if REQUIRED:
        pytest.fail(f"the browser test is required (COURSE_BROWSER=required) but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base: str, token: str, path: str, method: str = "GET"):
    """Return the decoded JSON of one call to the Jupyter server's REST API (None when empty)."""
    request = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


def shut_down_kernels(base: str, token: str) -> None:
    for session in api(base, token, "/api/sessions") or []:
        api(base, token, f"/api/sessions/{session['id']}", method="DELETE")


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """Return a temporary copy of the course: solutions/, a fresh build of notebooks/, the gallery."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(build.SOLUTIONS, root / "solutions")
    build.build(build.SOLUTIONS, root / "notebooks")
    if (build.REPO / "cheatsheet").is_dir():
        shutil.copytree(build.REPO / "cheatsheet", root / "cheatsheet")
    (root / "gallery").mkdir()
    nbformat.write(gallery_notebook(), str(root / "gallery" / "widgets.ipynb"))
    return root


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory):
    """Yield (base URL, token) of a JupyterLab serving the course copy, with fresh directories.

    Its installation defaults are the course's own (``attnlib.course.labsettings``, what ``make install``
    writes into the environment), so this is the JupyterLab a learner gets from ``make lab``.
    """
    home = tmp_path_factory.mktemp("jupyter")
    settings = home / "settings"
    for name, values in TEST_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values))
    app_settings = labsettings.write_defaults(home / "prefix").parent.parent
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), MPLBACKEND="module://matplotlib_inline.backend_inline")
    port, token = free_port(), secrets.token_hex(16)
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}", "--LabApp.expose_app_in_browser=True",
        f"--LabApp.app_settings_dir={app_settings}", f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
    ] + (["--allow-root"] if os.geteuid() == 0 else [])
    log = open(home / "server.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:  # poll the server's own status endpoint until it answers
        try:
            api(base, token, "/api/status")
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                log.close()
                pytest.fail(f"JupyterLab did not start:\n{(home / 'server.log').read_text()[-3000:]}")
            time.sleep(0.2)
    yield base, token
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="module")
def browser():
    """Yield a headless Chromium driven by Playwright (Debian's binary, nothing downloaded)."""
    if not ENABLED:
        pytest.skip("the browser test runs with COURSE_BROWSER=1 (make test sets it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install playwright; never `playwright install`)")
    if not Path(CHROMIUM).exists():
        unavailable(f"no chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    global PlaywrightTimeout
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, lab):
    """Yield a fresh page; afterwards every kernel is shut down."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    yield page
    page.close()
    shut_down_kernels(*lab)


# JavaScript run in the page. READY: the current notebook's kernel is connected and idle (its client id).
READY = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = w && w.sessionContext;
  const k = ctx && ctx.isReady && ctx.session && ctx.session.kernel;
  return (k && k.connectionStatus === 'connected' && k.status === 'idle') ? k.clientId : false;
}"""
# PROGRESS: code cells of the current notebook's model, how many have an execution count, errors shown
PROGRESS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  const cells = w.content.model.cells;
  let code = 0, done = 0;
  const pending = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    code++;
    if (c.executionCount) done++; else if (pending.length < 3) pending.push(c.sharedModel.getSource().slice(0, 60));
  }
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const errors = w.node.querySelectorAll('STDERR').length;
  return {code, done, errors, status: k ? k.status : 'none', pending};
}""".replace("STDERR", STDERR.replace('"', '\\"'))


def open_notebook(page, base: str, token: str, path: str) -> None:
    """Open ``path`` in JupyterLab and return once its kernel is connected, idle, and stays so for a second."""
    workspace = re.sub(r"[^A-Za-z0-9]+", "-", path)  # a workspace of its own: nothing else reopens
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{path}?token={token}")
    for _ in range(5):
        client = page.wait_for_function(READY, timeout=120_000, polling=200).json_value()
        page.wait_for_timeout(1000)
        if page.evaluate(READY) == client:  # the same connection, still idle
            return
    pytest.fail(f"{path}: the kernel connection kept changing")


def run_all(page, stem: str) -> dict:
    """Clear the outputs, run every cell from the Run menu; return the progress once all ran or one failed."""
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs'); }")
    panel.locator(".jp-Cell").first.click()  # focus the notebook, as a learner's click would
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator("li[data-command='runmenu:run-all']").click()
    try:
        page.wait_for_function(
            f"() => {{ const s = ({PROGRESS})(); return s.errors > 0 || (s.done === s.code && s.status === 'idle'); }}",
            timeout=RUN_TIMEOUT_MS, polling=500,
        )
    except PlaywrightTimeout:
        page.screenshot(path=str(ARTIFACTS / f"{stem}-stalled.png"))
        pytest.fail(f"{stem}: not every cell ran within {RUN_TIMEOUT_MS // 1000} s: {page.evaluate(PROGRESS)}")
    return page.evaluate(PROGRESS)


def assert_no_error_output(page, stem: str, state: dict) -> None:
    if state["errors"]:
        text = page.locator(f".jp-NotebookPanel:not(.lm-mod-hidden) {STDERR}").first.inner_text()
        page.screenshot(path=str(ARTIFACTS / f"{stem}.png"))
        pytest.fail(f"{stem}: a cell wrote an error or to stderr:\n{text[:2000]}")


def move_first_slider(page, cell, label: str) -> None:
    """Press an arrow key on the first slider of a widget cell; fail unless its output changes, without stderr."""
    sliders = cell.locator(SLIDER_HANDLE)
    assert sliders.count(), f"{label}: no slider in the widget"
    output = cell.locator(".widget-output")
    assert output.count(), f"{label}: the widget has a slider but no output to update"
    before = output.first.inner_html()
    handle = sliders.first
    handle.focus()
    value = handle.get_attribute("aria-valuenow")
    handle.press("ArrowRight")
    if handle.get_attribute("aria-valuenow") == value:  # already at its maximum
        handle.press("ArrowLeft")
    try:
        page.wait_for_function(
            "([el, before, stderr]) => el.innerHTML !== before && !el.querySelector(stderr)",
            arg=[output.first.element_handle(), before, STDERR], timeout=60_000,
        )
    except PlaywrightTimeout:
        cell.screenshot(path=str(ARTIFACTS / f"slider-{label}.png"))
        changed = output.first.inner_html() != before
        pytest.fail(f"{label}: after moving its slider (aria-valuenow {value} -> {handle.get_attribute('aria-valuenow')}) "
                    f"the output {'changed but shows stderr' if changed else 'did not change'} within 60 s: "
                    f"{output.first.inner_text()[:300]!r}")


def wait_for_widgets(page, expected: int, stem: str):
    """Return the code cells of the open notebook that show a rendered widget, once there are ``expected``."""
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    cells = panel.locator(".jp-CodeCell").filter(has=page.locator(WIDGET_VIEW))
    try:  # widget views render after their cell has finished
        page.wait_for_function(
            "([sel, n]) => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')]"
            ".filter(c => c.querySelector(sel)).length >= n",
            arg=[WIDGET_VIEW, expected], timeout=60_000,
        )
    except PlaywrightTimeout:
        page.screenshot(path=str(ARTIFACTS / f"{stem}.png"))
        pytest.fail(f"{stem}: {cells.count()} of {expected} widget cell(s) rendered within 60 s")
    assert "Error displaying widget" not in panel.inner_text()
    return cells


def expected_widget_cells(name: str) -> int:
    """Return how many code cells of the solution notebook display a widget (from its stored outputs)."""
    nb = nbformat.read(str(build.SOLUTIONS / name), as_version=4)
    return sum(any(WIDGET_MIME in o.get("data", {}) for o in c.get("outputs", [])) for c in nb.cells if c.cell_type == "code")


def test_a_learners_first_notebook_opens_quietly_and_runs(page, lab):
    """notebooks/01 as built: no dialog, no pop-up; Run All; grey check lines, fallbacks, a live widget."""
    base, token = lab
    stem = f"notebooks-{Path(FIRST).stem}"
    start = time.monotonic()
    open_notebook(page, base, token, f"notebooks/{FIRST}")
    assert page.locator(".jp-Dialog").count() == 0, "a dialog asked something when the notebook opened"
    kernel = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.name")
    assert kernel == "python3", f"the notebook should run in its own kernel (python3), not {kernel!r}"
    toasts = page.locator(".Toastify__toast")
    assert toasts.count() == 0, f"JupyterLab showed a pop-up: {toasts.first.inner_text()[:200]!r}"

    state = run_all(page, stem)
    assert_no_error_output(page, stem, state)
    assert state["done"] == state["code"] > 0, state
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    outputs = "\n".join(panel.locator(".jp-OutputArea-output").all_inner_texts())
    verdicts = {m.group(2): m.group(3) for m in CHECK_LINE.finditer(outputs)}
    registered = {n for n, ex in EXERCISES.items() if ex.notebook == FIRST[:2]}
    assert registered <= set(verdicts), f"checks that never showed: {sorted(registered - set(verdicts))}"
    assert {n: v for n, v in verdicts.items() if v != "not attempted"} == {}, "every check should say 'not attempted'"
    assert "is not attempted yet, so the cells below use attnlib." in outputs, "the fallbacks should say what they do"

    cells = wait_for_widgets(page, expected_widget_cells(FIRST), stem)
    for i in range(cells.count()):
        cells.nth(i).scroll_into_view_if_needed()
        move_first_slider(page, cells.nth(i), f"{stem}-widget-{i}")
    assert page.locator(".Toastify__toast").count() == 0, "JupyterLab showed a pop-up while the notebook ran"
    page.screenshot(path=str(ARTIFACTS / f"{stem}.png"))
    print(f"{stem}: opened and ran in {time.monotonic() - start:.0f} s, {len(verdicts)} checks, {cells.count()} widget(s)")


def test_every_widget_of_the_course_renders_and_round_trips(page, lab):
    """The gallery: each widget of attnlib renders, and its first slider changes its output."""
    base, token = lab
    open_notebook(page, base, token, "gallery/widgets.ipynb")
    state = run_all(page, "gallery")
    assert_no_error_output(page, "gallery", state)
    cells = wait_for_widgets(page, len(GALLERY), "gallery")
    assert cells.count() == len(GALLERY)
    for name in GALLERY:
        cell = page.locator(f".jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell").filter(has_text=f"{name}(")
        cell.first.scroll_into_view_if_needed()
        move_first_slider(page, cell.first, f"gallery-{name}")
    page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)


def test_every_solution_notebook_renders(page, lab):
    """Each solution notebook opens; all its cells render; its stored check lines show."""
    base, token = lab
    open_notebook(page, base, token, f"notebooks/{FIRST}")
    problems = []
    for kind in ("solutions",):
        for name in NAMES:
            path = f"{kind}/{name}"
            nb = nbformat.read(str(build.SOLUTIONS / name), as_version=4)
            page.evaluate("(path) => { window.jupyterapp.commands.execute('docmanager:open', {path}); }", path)
            try:
                page.wait_for_function(
                    "([path, n]) => { const w = window.jupyterapp.shell.currentWidget;"
                    " return w && w.context && w.context.path === path && w.content.widgets.length === n"
                    " && w.node.querySelectorAll('.jp-Cell').length === n; }",
                    arg=[path, len(nb.cells)], timeout=60_000,
                )
            except PlaywrightTimeout:
                page.screenshot(path=str(ARTIFACTS / f"render-{kind}-{Path(name).stem}.png"))
                problems.append(f"{path}: its {len(nb.cells)} cells did not all render within 60 s")
                continue
            text = page.evaluate("() => window.jupyterapp.shell.currentWidget.node.innerText")
            if "Error displaying widget" in text:
                problems.append(f"{path}: a widget shows an error")
            if kind == "solutions":
                shown = {m.group(2) for m in CHECK_LINE.finditer(text)}
                missing = {n for n, ex in EXERCISES.items() if ex.notebook == name[:2]} - shown
                if missing:
                    problems.append(f"{path}: the stored check lines of {sorted(missing)} do not show")
            page.evaluate("() => { window.jupyterapp.shell.currentWidget.dispose(); }")  # close, never asking to save
        shut_down_kernels(base, token)
    assert problems == []
