"End-to-end tests of the `twophase` command, run as a user would run it."
import json, subprocess, sys
import pandas as pd
import pytest
from conftest import DATA, WEIGHTS, twophase

TINY = ['--weights', WEIGHTS, '--size', 32, '--bs', 64, '--epochs1', 1, '--epochs2', 1]

def test_help_lists_groups_and_seed_defaults():
    r = twophase('train', '--help')
    assert r.returncode == 0, r.stderr
    text = ' '.join(r.stdout.split())  # argparse wraps lines
    for s in ('--epochs1', '--epochs2', '--lr1', '--lr2', '--arch', '--weights', '--size', '--bs', '--preset', '--out',
              'phases (what trains', '(default: 10)', '(default: 0.0001)'):
        assert s in text, s

def test_python_dash_m():
    r = subprocess.run([sys.executable, '-m', 'twophase.cli', '--help'], capture_output=True, text=True)
    assert r.returncode == 0 and 'train' in r.stdout, r.stderr

def test_train_writes_complete_run_dir(tmp_path):
    out = tmp_path/'run'
    r = twophase('train', DATA, *TINY, '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob('*') if p.is_file())
    assert files == ['.twophase-run', 'config.json', 'dataset.json', 'export.pkl', 'logs/training.log', 'logs/training_curves.png',
                     'logs/training_metrics.csv', 'models/best_model.pth', 'models/checkpoint_epoch_001.pth',
                     'models/checkpoint_epoch_002.pth', 'report/confusion_matrix.png', 'report/gradcam.png',
                     'report/metrics.json', 'report/report.html', 'report/report.md', 'report/top_losses.png',
                     'report/training_curves.png']
    assert 'diagnosis' in r.stdout and '## Diagnosis' in (out/'report/report.md').read_text()
    df = pd.read_csv(out/'logs/training_metrics.csv')
    assert list(df.epoch) == [1, 2] and list(df.phase) == [1, 2] and list(df.phase_name) == ['head', 'layer4']
    cfg = json.loads((out/'config.json').read_text())
    assert cfg['config']['epochs1'] == 1 and cfg['dataset']['n_train'] == 400 and cfg['results']['epochs'] == 2
    assert 'Phase 2/2' in (out/'logs/training.log').read_text()
    from fastai.learner import load_learner
    learn = load_learner(out/'export.pkl')
    pred, _, probs = learn.predict(next((DATA/'valid'/'tench').iterdir()))
    assert pred in learn.dls.vocab and abs(float(probs.sum()) - 1) < 1e-5

def test_existing_run_dir_is_not_overwritten(tmp_path):
    out = tmp_path/'run'; out.mkdir(); (out/'config.json').write_text('{"keep": "me"}')
    r = twophase('train', DATA, *TINY, '--out', out)
    assert r.returncode == 2 and 'already exists' in r.stderr and '--overwrite' in r.stderr
    assert (out/'config.json').read_text() == '{"keep": "me"}'

@pytest.mark.parametrize('args,msg', [
    (['{tmp}/missing'], 'does not exist'),
    (['{tmp}'], 'no sub-folders with images'),
    ([str(DATA), '--weights', '{tmp}/nope.pth'], 'nope.pth not found'),
    ([str(DATA), '--weights', '{tmp}/bad.pth'], 'could not read weights file'),
    ([str(DATA), '--lr1', '0'], 'config field `lr1`'),
    ([str(DATA), '--preset', 'huge'], "unknown preset 'huge'"),
])
def test_bad_input_gives_one_clear_line(tmp_path, args, msg):
    (tmp_path/'bad.pth').write_bytes(b'garbage')
    r = twophase('train', *[a.format(tmp=tmp_path) for a in args], '--out', tmp_path/'out', '--size', 32)
    assert r.returncode == 2, r.stderr[-2000:]
    assert msg in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert not (tmp_path/'out').exists()  # a failed start leaves nothing that would block the corrected re-run

def test_relative_out_and_default_run_dir(tmp_path):
    "Relative --out (and the default runs/<dataset>-<arch>-<time>) resolve against the working directory"
    r = twophase('train', DATA, *TINY, '--out', 'rel/run', '--no-report', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path/'rel/run/export.pkl').exists() and (tmp_path/'rel/run/models/best_model.pth').exists()
    r = twophase('train', DATA, *TINY, '--no-report', cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    runs = list((tmp_path/'runs').iterdir())
    assert len(runs) == 1 and runs[0].name.startswith('imagenette4-resnet18-') and (runs[0]/'export.pkl').exists()
