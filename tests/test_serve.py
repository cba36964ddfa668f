"""`twophase serve RUN_DIR`: started on a free local port, headless Chromium uploads a known image and reads the predicted
class and the Grad-CAM overlay from the page; a dark 16-bit grayscale photo gets the class `predict` gives it, and an
image over --max-pixels is refused with the reason; the server stops at the end of the test. A folder without a model is
refused."""
import os, signal, subprocess, time, urllib.request
import numpy as np
import pytest
from PIL import Image
from conftest import BIN, DATA, WEIGHTS, twophase, free_port, screenshot, need_browser

KNOWN = sorted((DATA/'valid'/'parachute').iterdir())[0]  # a known image: its true class is parachute

@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('serve')/'run'
    r = twophase('train', DATA, '--weights', WEIGHTS, '--size', 64, '--epochs1', 3, '--epochs2', 0, '--fast', '--no-report',
                 '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    return out

def cli_prediction(run, img):
    r = twophase('predict', run, img, '--csv', run.parent/'pred.csv')
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()[1].split()[1]  # the first row's `pred` column

def wait_for(url, proc, timeout=120):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None: raise AssertionError(f'serve exited with {proc.returncode}: {proc.stdout.read()[-3000:]}')
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200: return
        except OSError: time.sleep(0.5)
    raise AssertionError(f'{url} did not answer within {timeout}s')

def test_upload_shows_predicted_class_and_gradcam(run, page, tmp_path):
    need_browser()
    expected = cli_prediction(run, KNOWN)
    port = free_port()
    dark16, huge = tmp_path/'dark16.png', tmp_path/'huge.png'  # a scientific camera's photo; 9 Mpx of one colour (a few KB)
    Image.fromarray(np.asarray(Image.open(KNOWN).convert('L'), dtype=np.uint16) * 40).save(dark16)  # uint16: mode I;16
    Image.new('L', (3000, 3000)).save(huge)
    expected16 = cli_prediction(run, dark16)
    proc = subprocess.Popen([str(BIN/'twophase'), 'serve', str(run), '--port', str(port), '--examples', '4', '--max-pixels', '4000000'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, 'PYTHONWARNINGS': 'ignore'})
    url = f'http://127.0.0.1:{port}/'
    try:
        wait_for(url, proc)
        page.goto(url)
        page.locator('input[type=file]').first.set_input_files(str(KNOWN))
        page.get_by_role('button', name='Submit').click()
        label = page.get_by_test_id('label-output-value')
        label.wait_for(timeout=60_000)
        shown = label.inner_text().strip()
        print(f'{KNOWN.name} (true class parachute): the page shows {shown!r}; twophase predict says {expected!r}')
        assert shown == expected
        page.wait_for_function("[...document.images].filter(i => i.complete && i.naturalWidth > 0).length >= 2 + 4")  # input, CAM, examples
        cam = page.evaluate("[...document.querySelectorAll('img')].map(i => [i.alt, i.naturalWidth])")
        assert any(w == 288 for _, w in cam), cam  # the overlay (64 px, shown at CAM_SIDE)
        assert page.get_by_text('Examples').first.is_visible()
        screenshot(page, 'serve-upload', tmp_path)
        page.get_by_role('button', name='Clear', exact=True).click()
        page.locator('input[type=file]').first.set_input_files(str(dark16))
        page.get_by_role('button', name='Submit').click()
        page.wait_for_function(f"document.querySelector('[data-testid=label-output-value]')?.innerText.trim() == {expected16!r}",
                               timeout=60_000)  # Gradio's own input would have made it all white (a different answer, often)
        page.get_by_role('button', name='Clear', exact=True).click()
        page.locator('input[type=file]').first.set_input_files(str(huge))
        page.get_by_role('button', name='Submit').click()
        page.get_by_text('is over the limit of 4,000,000 pixels').first.wait_for(timeout=60_000)
        screenshot(page, 'serve-too-large', tmp_path)
    finally:
        proc.send_signal(signal.SIGTERM)  # as Ctrl-C (which a background job, like CI, may have ignored): the server closes
        try: out = proc.communicate(timeout=60)[0]
        except subprocess.TimeoutExpired: proc.kill(); raise
    assert proc.returncode == 0 and f'on http://127.0.0.1:{port}/' in out, out[-2000:]
    with pytest.raises(OSError): urllib.request.urlopen(url, timeout=5)

def test_refuses_a_folder_without_a_model(tmp_path):
    r = twophase('serve', tmp_path, '--port', free_port())
    assert r.returncode == 2 and 'has no trained model' in r.stderr and 'twophase train' in r.stderr, r.stderr
    assert 'on http://' not in r.stdout
