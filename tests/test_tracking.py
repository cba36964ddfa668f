"""--tracker tensorboard|mlflow from the CLI: every epoch's valid accuracy read back through each library's own reader
equals the run's CSV, and the README's commands to look at them (tensorboard --logdir, mlflow ui) serve a page."""
import json, socket, subprocess, time, urllib.request
import pandas as pd
import pytest
from conftest import BIN, WEIGHTS, twophase
from twophase.layout import synth_dataset

TINY = ['--weights', WEIGHTS, '--size', '32', '--bs', '4', '--epochs1', '2', '--epochs2', '2', '--no-report']

@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "One tiny CLI run per tracker"
    d = tmp_path_factory.mktemp('tracked')
    data = synth_dataset(d/'data', n_train=8, n_valid=4, size=48)
    out = {}
    for kind in ('tensorboard', 'mlflow'):
        r = twophase('train', data, *TINY, '--tracker', kind, '--out', d/kind)
        assert r.returncode == 0, r.stderr[-3000:]
        out[kind] = d/kind
    return out

def csv_acc(run): return pd.read_csv(run/'logs'/'training_metrics.csv').valid_accuracy.round(6).tolist()

def test_tensorboard_events_equal_the_csv(runs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(str(runs['tensorboard']/'tensorboard')); acc.Reload()
    ev = acc.Scalars('valid_accuracy')
    assert [e.step for e in ev] == [1, 2, 3, 4]
    assert [round(e.value, 6) for e in ev] == csv_acc(runs['tensorboard'])

def test_mlflow_metrics_params_artifacts(runs):
    from mlflow import MlflowClient
    run = runs['mlflow']
    state = json.loads((run/'tracking.json').read_text())
    client = MlflowClient(tracking_uri=state['uri'])
    hist = client.get_metric_history(state['run_id'], 'valid_accuracy')
    assert [m.step for m in hist] == [1, 2, 3, 4]
    assert [round(m.value, 6) for m in hist] == csv_acc(run)
    r = client.get_run(state['run_id'])
    assert r.info.status == 'FINISHED' and r.data.params['epochs1'] == '2' and r.data.params['tracker'] == 'mlflow'
    assert 'logs/training_metrics.csv' in [f.path for f in client.list_artifacts(state['run_id'], 'logs')]

def test_missing_tracker_value_is_refused(tmp_path):
    r = twophase('train', tmp_path, '--tracker', 'wandb')
    assert r.returncode == 2 and 'tracker' in r.stderr, r.stderr

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def fetch_when_up(cmd, url, timeout=90):
    "Start `cmd` (a server), fetch `url` once it answers, stop the server; return the page"
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.time()
        while time.time() - t0 < timeout:
            if p.poll() is not None: raise AssertionError(f"{cmd[0]} exited: {p.stderr.read()[-2000:]}")
            try: return urllib.request.urlopen(url, timeout=5).read().decode()
            except OSError: time.sleep(1)
        raise AssertionError(f"{cmd[0]} did not answer {url} in {timeout}s")
    finally:
        p.terminate()
        try: p.wait(10)
        except subprocess.TimeoutExpired: p.kill()

def test_readme_commands_serve_the_runs(runs):
    "The commands the README gives (and the run log prints) start the libraries' own UIs on these runs"
    port = free_port()
    page = fetch_when_up([str(BIN/'tensorboard'), '--logdir', str(runs['tensorboard']/'tensorboard'), '--port', str(port),
                          '--host', '127.0.0.1'], f'http://127.0.0.1:{port}/data/plugin/scalars/tags')
    assert 'valid_accuracy' in page
    port = free_port()
    uri = json.loads((runs['mlflow']/'tracking.json').read_text())['uri']
    page = fetch_when_up([str(BIN/'mlflow'), 'ui', '--backend-store-uri', uri, '--port', str(port), '--host', '127.0.0.1'],
                         f'http://127.0.0.1:{port}/')
    assert 'MLflow' in page or 'mlflow' in page.lower()
