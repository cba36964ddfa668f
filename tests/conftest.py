"Paths shared by the end-to-end tests: the repo, and the offline dataset + backbone beside it."
import os, sys, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('TWOPHASE_SHARED', ROOT.parent/'shared'))
DATA = Path(os.environ.get('TWOPHASE_DATA', SHARED/'data'/'imagenette4'))
WEIGHTS = Path(os.environ.get('TWOPHASE_WEIGHTS', SHARED/'weights'/'resnet18-fixture.pth'))
BIN = Path(sys.executable).parent

# `make test` runs the suite in 2 processes (pytest-xdist, `-n 2 --dist loadscope`: a module's tests, which share its
# module-scoped fixtures, stay on one worker; each notebook is a scope of its own): each worker, and the commands and
# notebooks it starts, gets its share of the cores instead of every torch process starting a thread per core
if (_workers := int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '0'))) > 1:
    os.environ.setdefault('OMP_NUM_THREADS', str(max(1, (os.cpu_count() or 1) // _workers)))

@pytest.fixture(autouse=True)
def lean_worker():
    """After each test, free what it left in this process (fastai learners hold reference cycles) and hand the freed heap
    back to the OS: the commands the tests fork from this process, and the process itself, then stay small"""
    yield
    import gc, ctypes
    gc.collect()
    try: ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError): pass  # not glibc

@pytest.fixture(scope='session', autouse=True)
def offline_dirs(tmp_path_factory):
    "Keep fastai/torch caches out of the user's home"
    d = tmp_path_factory.mktemp('homes')
    os.environ.setdefault('FASTAI_HOME', str(d/'fastai')); os.environ.setdefault('TORCH_HOME', str(d/'torch'))

def twophase_proc(*args, cwd=None, timeout=600):
    "Run the installed `twophase` command in a new process; return the CompletedProcess"
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore'}
    return subprocess.run([str(BIN/'twophase'), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)

def twophase_forked(*args, cwd=None, timeout=600):
    """`twophase` as the installed command runs it (`twophase.cli.main`, its exit code, its stdout and stderr, a traceback
    if it raises), in a child forked from this process: the same result as `twophase(...)` without importing torch and
    fastai again (~6 s a command on 2 cores). The tests' `twophase(...)`: `test_output.py`, `test_readme.py` and the
    tests that signal a process start the installed command itself."""
    import io, tempfile, time, traceback, warnings
    from twophase.cli import main  # imported once, in the parent
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                sys.excepthook = sys.__excepthook__
                os.dup2(out.fileno(), 1); os.dup2(err.fileno(), 2)
                sys.stdout, sys.stderr = (io.TextIOWrapper(open(fd, 'wb', closefd=False), write_through=True) for fd in (1, 2))
                if cwd: os.chdir(cwd)
                warnings.simplefilter('ignore'); os.environ['PYTHONWARNINGS'] = 'ignore'
                import torch; torch.set_num_threads(1)  # no OpenMP pool inherited across the fork
                sys.argv = ['twophase', *map(str, args)]
                try: code = main(sys.argv[1:])
                except SystemExit as e: code = e.code if isinstance(e.code, int) or e.code is None else (print(e.code, file=sys.stderr), 1)[1]
                except BaseException: traceback.print_exc(); code = 1
            finally:  # never back into pytest, whatever happens here
                try: sys.stdout.flush(); sys.stderr.flush()
                finally: os._exit(code if isinstance(code, int) and 0 <= code < 256 else 1)
        t0 = time.time()
        while not (st := os.waitpid(pid, os.WNOHANG))[0]:
            if time.time() - t0 > timeout:
                os.kill(pid, 9); os.waitpid(pid, 0); raise subprocess.TimeoutExpired(['twophase', *map(str, args)], timeout)
            time.sleep(0.02)
        out.seek(0); err.seek(0)
        return subprocess.CompletedProcess(['twophase', *map(str, args)], os.waitstatus_to_exitcode(st[1]),
                                           out.read().decode(errors='replace'), err.read().decode(errors='replace'))

twophase = twophase_forked

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
