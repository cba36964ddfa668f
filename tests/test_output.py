"Clean output: imports and --help print no warning; a run written to a file has no progress-bar redraws and no Python warnings."
import os, subprocess, sys
from conftest import BIN, WEIGHTS
from twophase.layout import synth_dataset

def user_env():
    "The environment a user's shell gives: Python's warnings as they come (the other tests silence them)"
    return {k: v for k, v in os.environ.items() if k != 'PYTHONWARNINGS'}

def test_imports_and_help_print_no_warning():
    for code in ('import twophase', 'import twophase.train, twophase.interpret, twophase.compare, twophase.cli'):
        r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=user_env())
        assert r.returncode == 0 and r.stderr == '', f"{code}: {r.stderr[-2000:]}"
    r = subprocess.run([str(BIN/'twophase'), '--help'], capture_output=True, text=True, env=user_env())
    assert r.returncode == 0 and r.stderr == '' and 'Warning' not in r.stdout, r.stderr[-2000:]

def test_run_into_a_file_prints_one_line_per_epoch(tmp_path):
    data = synth_dataset(tmp_path/'data', n_train=8, n_valid=4, size=48)
    log = tmp_path/'log.txt'
    with open(log, 'w') as f:
        r = subprocess.run([str(BIN/'twophase'), 'train', data, '--weights', WEIGHTS, '--size', '32', '--bs', '4',
                            '--epochs1', '2', '--epochs2', '1', '--out', tmp_path/'run'],
                           stdout=f, stderr=subprocess.STDOUT, env=user_env(), timeout=600)
    text = log.read_text()
    assert r.returncode == 0, text[-3000:]
    assert '\r' not in text and '\x1b' not in text, "progress-bar redraws in a redirected run"
    assert 'Warning' not in text and 'warnings.warn' not in text, [l for l in text.splitlines() if 'arning' in l][:5]
    epochs = [l for l in text.splitlines() if l.startswith('epoch ')]
    assert len(epochs) == 3, text[-3000:]
