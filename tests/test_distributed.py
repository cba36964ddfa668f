"""Two CPU processes (gloo) launched by accelerate: one run directory, one CSV row per epoch, identical weights on
both ranks; refusals under DDP; `import twophase` without accelerate."""
import json, os, subprocess, sys
import pandas as pd, torch
from conftest import ROOT, DATA, WEIGHTS, BIN

FIT = '''
import os, sys, torch
from twophase.config import make_config
from twophase.train import run_training
data, weights, out, wdir = sys.argv[1:5]
cfg = make_config(data=data, weights=weights, size=32, bs=16, epochs1=1, epochs2=2, check='off', out=out, report=False,
                  **({'cache': True} if len(sys.argv) > 5 else {}))
learn, run_dir = run_training(cfg, echo=False)
torch.save(learn.model.state_dict(), os.path.join(wdir, f"rank{os.environ['RANK']}.pt"))
'''

def launch(*args, cwd):
    "`accelerate launch` of 2 processes; with no GPU visible they run on the CPU and talk over gloo"
    cmd = [str(BIN/'accelerate'), 'launch', '--multi_gpu', '--num_processes', '2', '--num_machines', '1',
           '--mixed_precision', 'no', '--dynamo_backend', 'no', '--main_process_port', '29517', *map(str, args)]
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore', 'OMP_NUM_THREADS': '1', 'CUDA_VISIBLE_DEVICES': ''}  # CPU processes, gloo
    return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600, env=env)

def test_two_processes_one_run_dir_identical_weights(tmp_path):
    (tmp_path/'fit.py').write_text(FIT); (tmp_path/'w').mkdir()
    p = launch(tmp_path/'fit.py', DATA, WEIGHTS, tmp_path/'run', tmp_path/'w', cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert sorted(x.name for x in tmp_path.iterdir()) == ['fit.py', 'run', 'w']  # exactly one run directory
    df = pd.read_csv(tmp_path/'run'/'logs'/'training_metrics.csv')
    assert (list(df.epoch), list(df.phase)) == ([1, 2, 3], [1, 2, 2])  # one row per epoch, written once
    cfg = json.loads((tmp_path/'run'/'config.json').read_text())
    assert (cfg['world_size'], cfg['global_bs'], cfg['results']['epochs']) == (2, 32, 3)
    assert 'distributed: 2 processes (rank 0 writes), global batch 16 x 2 x 1 = 32' in (tmp_path/'run'/'logs'/'training.log').read_text()
    assert sorted(x.name for x in (tmp_path/'run'/'models').iterdir()) == [
        'best_model.pth', 'checkpoint_epoch_001.pth', 'checkpoint_epoch_002.pth', 'checkpoint_epoch_003.pth']
    a, b = (torch.load(tmp_path/'w'/f'rank{r}.pt') for r in (0, 1))
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)  # both ranks end with the same weights
    ck = torch.load(tmp_path/'run'/'models'/'best_model.pth', weights_only=False)
    assert list(ck['model']) == list(a)  # checkpoints hold the plain model (no DDP 'module.' prefix)

def test_feature_cache_refused_under_ddp(tmp_path):
    (tmp_path/'fit.py').write_text(FIT); (tmp_path/'w').mkdir()
    p = launch(tmp_path/'fit.py', DATA, WEIGHTS, tmp_path/'run', tmp_path/'w', 'cache', cwd=tmp_path)
    assert p.returncode != 0
    assert 'the feature cache is not supported with distributed training' in p.stdout + p.stderr
    assert not (tmp_path/'run').exists()

def test_import_without_accelerate():
    code = ("import sys; sys.modules['accelerate'] = None\n"
            "import twophase, twophase.train, twophase.cli, twophase.distributed\n"
            "from twophase.train import two_phase_fit; print('ok')")
    p = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0 and p.stdout.strip() == 'ok', p.stderr[-2000:]
