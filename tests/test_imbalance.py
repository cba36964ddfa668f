"""Class imbalance from the command line: `check` and the run log report the balance and warn over 3x; a run with
--class-weights auto --sampler balanced logs the weights; balanced accuracy and macro-F1 reach the CSV, config.json,
`evaluate` and the report; `--patience` ends a phase early and the next one runs."""
import json
import pandas as pd
import pytest
from conftest import WEIGHTS, twophase
from twophase.layout import synth_dataset

@pytest.fixture(scope='module')
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp('imb')/'data'
    synth_dataset(d, classes=('a', 'b', 'c'), n_train=16, n_valid=4, size=40)
    synth_dataset(d, classes=('d',), n_train=4, n_valid=4, size=40, seed=1)
    synth_dataset(d.parent/'test', classes=('a', 'b', 'c', 'd'), n_train=1, n_valid=4, size=40, seed=7)  # other images: an honest test
    return d

def test_check_reports_balance_and_warns(data):
    r = twophase('check', data)
    assert r.returncode == 0, r.stderr
    assert 'class balance (training images): a 16, b 16, c 16, d 4; largest/smallest 4.0x' in r.stdout
    assert "imbalanced classes: 'a' has 16 training images, 'd' 4 (4.0x, over 3x)" in r.stdout and '--class-weights auto' in r.stdout
    assert twophase('check', data, '--strict').returncode == 0  # advice about the data, not a faulty file: --strict goes on

def test_weighted_balanced_run(data, tmp_path):
    out = tmp_path/'run'
    r = twophase('train', data, '--weights', WEIGHTS, '--size', 32, '--bs', 8, '--epochs1', 4, '--epochs2', 1, '--lr1', 1e-7,
                 '--patience', 1, '--class-weights', 'auto', '--sampler', 'balanced', '--test', data.parent/'test'/'valid', '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    log = (out/'logs'/'training.log').read_text()
    assert 'warning: imbalanced classes' in log
    assert 'imbalance handling: sampler balanced, loss weights a 0.812, b 0.812, c 0.812, d 3.25' in log  # 52 / (4 x n)
    h = pd.read_csv(out/'logs'/'training_metrics.csv')
    assert {'valid_balanced_accuracy', 'valid_macro_f1', 'train_balanced_accuracy'} <= set(h.columns)
    assert (h.phase == 1).sum() < 4 and (h.phase == 2).sum() == 1 and h.stopped_early.fillna(0).sum() == 1  # lr 1e-7: no gain
    res = json.loads((out/'config.json').read_text())['results']
    assert 0 <= res['test']['balanced_accuracy'] <= 1 and 0 <= res['test']['macro_f1'] <= 1
    md = (out/'report'/'report.md').read_text()
    assert '| balanced_accuracy | macro_f1 |' in md and 'largest/smallest 4.0x' in md and 'class_weights    auto' in md, md[:3000]
    from twophase.plots import load_run
    w = load_run(out, with_data=False).loss_func.func.weight  # the weights reach the exported loss, not just the log
    assert [round(x, 4) for x in w.tolist()] == [0.8125, 0.8125, 0.8125, 3.25]
    e = twophase('evaluate', out, '--data', data.parent/'test'/'valid')
    assert e.returncode == 0 and 'balanced accuracy' in e.stdout and 'macro-F1' in e.stdout, e.stderr

def test_bad_class_weights_file(data, tmp_path):
    (tmp_path/'w.json').write_text(json.dumps(dict(a=1, b=1, c=1)))
    r = twophase('train', data, '--weights', WEIGHTS, '--size', 32, '--epochs1', 1, '--epochs2', 0, '--class-weights',
                 tmp_path/'w.json', '--out', tmp_path/'run')
    assert r.returncode == 2 and 'missing: d' in r.stderr and not (tmp_path/'run'/'export.pkl').exists(), r.stderr[-2000:]
