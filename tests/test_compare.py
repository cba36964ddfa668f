"""`twophase compare` and honest scores, end to end at tiny sizes: recipes do what their names say, a SIGKILLed compare
continues without retraining, `--test` refuses other classes, `evaluate --data` agrees with the run's own numbers."""
import json, os, signal, subprocess, time
import pandas as pd
import torch
from conftest import DATA, WEIGHTS, BIN, SHARED, twophase
from twophase.compare import run_config
from twophase.compare_report import summarise
from twophase.data import dls_from_config
from twophase.model import learner_from_config, read_state_dict
from twophase.train import run_training

TINY = dict(weights=str(WEIGHTS), size=32, bs=32, epochs1=1, epochs2=1, check='off')
TEST = SHARED/'data'/'imagenette4-test'

def fresh_body(cfg):
    "The body of the learner `cfg` starts from, before any training"
    return {k: v.clone() for k, v in learner_from_config(cfg, dls_from_config(cfg, num_workers=0)).model[0].state_dict().items()}

def trained(recipe, tmp_path, **kw):
    cfg = run_config(DATA, recipe, {**TINY, **kw}, seed=1, out=str(tmp_path/recipe), report=False)
    return cfg, run_training(cfg, echo=False)[0]

def test_head_only_never_changes_a_body_tensor(tmp_path):
    cfg, learn = trained('head_only', tmp_path)
    before, after = fresh_body(cfg), learn.model[0].state_dict()
    assert pd.read_csv(tmp_path/'head_only'/'logs'/'training_metrics.csv').phase_name.tolist() == ['head']
    changed = [k for k, v in before.items() if not torch.equal(v, after[k])]
    assert changed == [], changed[:5]

def test_full_unfreeze_changes_conv1_in_its_first_epoch(tmp_path):
    cfg, learn = trained('full_unfreeze', tmp_path, epochs1=1, epochs2=0)
    assert cfg.phases == 'all:1:1e-4'
    assert not torch.equal(fresh_body(cfg)['0.weight'], learn.model[0].state_dict()['0.weight'])

def test_scratch_starts_from_weights_unequal_to_the_fixture():
    cfg = run_config(DATA, 'scratch', TINY, seed=1)
    fixture = read_state_dict(WEIGHTS)['conv1.weight']
    assert cfg.weights == 'none' and fixture.shape == fresh_body(cfg)['0.weight'].shape
    assert not torch.allclose(fixture, fresh_body(cfg)['0.weight'])
    assert torch.equal(fixture, fresh_body(run_config(DATA, 'two_phase', TINY, seed=1))['0.weight'])

def test_fine_tune_has_one_frozen_epoch(tmp_path):
    cfg, learn = trained('fine_tune', tmp_path, epochs1=1, epochs2=2)
    h = pd.read_csv(tmp_path/'fine_tune'/'logs'/'training_metrics.csv')
    assert h.phase_name.tolist() == ['head', 'all', 'all'], h.phase_name.tolist()
    assert cfg.phases == 'head:1:2e-3,all:2:1e-3'

def test_test_folder_with_other_classes_is_refused_before_training(tmp_path):
    bad = tmp_path/'test'
    for c in ('church', 'tench', 'zebra'):
        (bad/c).mkdir(parents=True)
        (bad/c/'a.jpg').symlink_to(next((DATA/'valid'/('tench' if c == 'zebra' else c)).iterdir()))
    r = twophase('train', DATA, '--weights', WEIGHTS, '--size', 32, '--epochs1', 1, '--epochs2', 0, '--test', bad, '--out', tmp_path/'run')
    assert r.returncode == 2, r.stderr[-2000:]
    assert 'classes differ' in r.stderr and 'missing: garbage_truck, parachute' in r.stderr and 'unknown to the model: zebra' in r.stderr
    assert 'Traceback' not in r.stderr and not (tmp_path/'run').exists()

def test_test_scores_and_evaluate_data(tmp_path):
    out = tmp_path/'run'
    r = twophase('train', DATA, '--weights', WEIGHTS, '--size', 32, '--epochs1', 1, '--epochs2', 1, '--test', TEST,
                 '--out', out, '--no-report')
    assert r.returncode == 0, r.stderr[-3000:]
    res = json.loads((out/'config.json').read_text())['results']
    t = res['test']
    assert t['n'] == 400 and t['top1_low'] < t['top1'] < t['top1_high'] and set(t['recall']) == {'church', 'garbage_truck', 'parachute', 'tench'}
    log = (out/'logs'/'training.log').read_text()
    assert 'test accuracy: ' in log and '400 images' in log and 'so optimistic' in log
    ev = twophase('evaluate', out)  # the run's own validation images
    assert ev.returncode == 0, ev.stderr[-2000:]
    assert f"top-1 {res['valid']['top1']:.3f} (95% CI" in ev.stdout  # the run's own valid accuracy of the model it hands over
    ev = twophase('evaluate', out, '--data', DATA/'valid')  # given as a test folder, they are no test: refused
    assert ev.returncode != 0 and 'all 100 images are identical to training or validation images' in ev.stderr, ev.stderr[-2000:]
    hist = pd.read_csv(out/'logs'/'training_metrics.csv')
    assert abs(res['valid']['top1'] - hist.valid_accuracy.iloc[-1 if res['handed_over'] == 'last' else hist.valid_accuracy.idxmax()]) < 1e-6
    ev = twophase('evaluate', out, '--data', DATA)
    assert ev.returncode == 2 and 'holds split folders (train/, valid/)' in ev.stderr

def _compare_cmd(out, *extra):
    return [str(BIN/'twophase'), 'compare', str(DATA), '--recipes', 'head_only,two_phase', '--seeds', '2', '--weights', str(WEIGHTS),
            '--size', '32', '--bs', '32', '--epochs1', '1', '--epochs2', '2', '--check', 'off', '--out', str(out), *extra]

def test_compare_killed_and_rerun_reuses_finished_runs(tmp_path):
    out, env = tmp_path/'cmp', {**os.environ, 'PYTHONWARNINGS': 'ignore'}
    p = subprocess.Popen(_compare_cmd(out), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    target = out/'runs'/'two_phase'/'seed-1'/'models'/'checkpoint_epoch_001.pth'  # the third run, mid-way
    t0 = time.time()
    while not target.exists() and p.poll() is None and time.time() - t0 < 300: time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    done = [out/'runs'/'head_only'/f'seed-{k}' for k in (1, 2)]
    before = {d: ((d/'config.json').read_bytes(), (d/'logs'/'training.log').read_bytes()) for d in done}
    assert all(json.loads(b[0])['results']['finished'] for b in before.values())
    r = subprocess.run(_compare_cmd(out), capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert '[1/4] head_only seed-1: reused' in r.stdout and '[2/4] head_only seed-2: reused' in r.stdout, r.stdout
    assert '[3/4] two_phase seed-1: resumed' in r.stdout or '[3/4] two_phase seed-1: trained' in r.stdout, r.stdout
    for d, b in before.items():  # not retrained
        assert ((d/'config.json').read_bytes(), (d/'logs'/'training.log').read_bytes()) == b
    saved, rebuilt = pd.read_csv(out/'summary.csv'), summarise(out)
    assert len(saved) == 4 and list(saved.run) == list(rebuilt.run)
    pd.testing.assert_frame_equal(saved, pd.read_csv(pd.io.common.StringIO(rebuilt.to_csv(index=False))))
    html = (out/'compare.html').read_text()
    assert html.count('data:image/png;base64,') == 3 and 'Against two_phase' in html
    again = twophase('compare', DATA, '--out', out, '--summary-only')
    assert again.returncode == 0 and '4 runs summarised' in again.stdout
    other = subprocess.run(_compare_cmd(out, '--lr1', '3e-3'), capture_output=True, text=True, env=env)
    assert other.returncode == 2 and 'started with other settings' in other.stderr and 'common' in other.stderr

def test_compare_folds_validates_every_image_once(tmp_path):
    out = tmp_path/'cv'
    r = twophase('compare', DATA, '--recipes', 'head_only', '--folds', 2, '--weights', WEIGHTS, '--size', 32, '--bs', 32,
                 '--epochs1', 1, '--check', 'off', '--out', out)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    df = pd.read_csv(out/'summary.csv')
    assert list(df.run) == ['fold-1', 'fold-2'] and (df.score_on == 'fold valid (last epoch)').all()
    assert df.n_valid.sum() == 500  # 400 train + 100 valid pooled, each validated exactly once
    folds = pd.read_csv(out/'folds'/'folds.csv')
    assert len(folds) == 500 and folds.file.is_unique and set(folds.groupby(['cls', 'fold']).size()) == {62, 63}  # 125 a class

def test_train_ensemble_cli(tmp_path):
    out = tmp_path/'ens'
    r = twophase('train', DATA, '--weights', WEIGHTS, '--size', 32, '--epochs1', 1, '--epochs2', 0, '--ensemble', 2,
                 '--check', 'off', '--test', TEST, '--out', out)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert sorted(p.name for p in (out/'members').iterdir()) == ['seed-1042', 'seed-42']
    res = json.loads((out/'config.json').read_text())['results']
    assert res['handed_over'] == 'ensemble' and res['test']['n'] == 400 and len(res['ensemble']) == 2
    assert (out/'report'/'report.md').exists() and (out/'test_predictions.csv').exists()
    ev = twophase('evaluate', out, '--data', TEST)
    assert ev.returncode == 0 and f"top-1 {res['test']['top1']:.3f} (95% CI" in ev.stdout, ev.stdout + ev.stderr[-2000:]
    pr = twophase('predict', out, next((DATA/'valid'/'tench').iterdir()))
    assert pr.returncode == 0 and '1 predictions' in pr.stdout, pr.stderr[-2000:]
    assert json.loads((out/'config.json').read_text())['config']['ensemble'] == 2
    again = twophase('train', '--resume', out)
    assert again.returncode == 0 and 'already finished: an ensemble of 2' in again.stdout, again.stdout[-2000:] + again.stderr[-2000:]
    (out/'config.json').unlink(); (out/'export.pkl').unlink()  # killed after its members, before combining them
    cfg = json.loads((out/'members'/'seed-42'/'config.json').read_text())
    from twophase.ensemble import train_ensemble
    from twophase.config import TwoPhaseConfig
    before = (out/'members'/'seed-42'/'config.json').read_bytes()
    train_ensemble(TwoPhaseConfig(**{**cfg['config'], 'ensemble': 2, 'out': str(out), 'seed': 42}), echo=False)
    assert (out/'export.pkl').exists() and (out/'members'/'seed-42'/'config.json').read_bytes() == before  # reused
