"Paths shared by the end-to-end tests: the repo, and the offline dataset + backbone beside it."
import os, sys, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('TWOPHASE_SHARED', ROOT.parent/'shared'))
DATA = Path(os.environ.get('TWOPHASE_DATA', SHARED/'data'/'imagenette4'))
WEIGHTS = Path(os.environ.get('TWOPHASE_WEIGHTS', SHARED/'weights'/'resnet18-fixture.pth'))
BIN = Path(sys.executable).parent

@pytest.fixture(scope='session', autouse=True)
def offline_dirs(tmp_path_factory):
    "Keep fastai/torch caches out of the user's home"
    d = tmp_path_factory.mktemp('homes')
    os.environ.setdefault('FASTAI_HOME', str(d/'fastai')); os.environ.setdefault('TORCH_HOME', str(d/'torch'))

def twophase(*args, cwd=None, timeout=600):
    "Run the installed `twophase` command; return the CompletedProcess"
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore'}
    return subprocess.run([str(BIN/'twophase'), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)

# --- headless Chromium (Debian's `chromium`, driven by Playwright) for the docs-site and `twophase serve` tests ---
import shutil, socket, threading, functools, http.server
from contextlib import contextmanager
CHROMIUM = os.environ.get('TWOPHASE_CHROMIUM') or shutil.which('chromium') or shutil.which('chromium-browser')
# the closed network here refuses Chromium's background connections; these flags keep it from trying
CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync']
SCREENSHOTS = os.environ.get('TWOPHASE_SCREENSHOTS')  # a folder to keep the tests' screenshots in (default: tmp only)

def need_browser():
    "Skip (or, with TWOPHASE_REQUIRE_BROWSER=1 as in CI, fail) when Chromium or Playwright is missing"
    try: import playwright.sync_api  # noqa: F401
    except ImportError: why = "playwright is not installed (pip install -e '.[dev]')"
    else: why = None if CHROMIUM else "no chromium on PATH (Debian: apt-get install chromium; or set TWOPHASE_CHROMIUM)"
    if why: (pytest.fail if os.environ.get('TWOPHASE_REQUIRE_BROWSER') == '1' else pytest.skip)(why)

@pytest.fixture
def page(tmp_path):
    "A fresh headless Chromium page (1400x1000)"
    need_browser()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try: yield b.new_page(viewport={'width': 1400, 'height': 1000})
        finally: b.close()

def screenshot(page, name, tmp_path):
    "Full-page PNG of `page` under tmp_path (and TWOPHASE_SCREENSHOTS if set); returns its path"
    out = Path(SCREENSHOTS or tmp_path)/f'{name}.png'
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out), full_page=True)
    return out

def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@contextmanager
def static_site(root):
    "Serve folder `root` on a free loopback port (stdlib http.server, quiet); yields the base URL"
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try: yield f'http://127.0.0.1:{srv.server_port}/'
    finally: srv.shutdown(); srv.server_close()
