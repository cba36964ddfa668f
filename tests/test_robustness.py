"""Never a wrong model, never someone else's file: dataset layouts, resume against changed data, safe --overwrite and
the Python API's refusals. Each test trains for seconds on a few 32 px images of imagenette4 (copied into tmp)."""
import json, os, shutil
from pathlib import Path
import pytest
from conftest import DATA, WEIGHTS, twophase

FAST = ['--weights', WEIGHTS, '--size', 32, '--bs', 4, '--epochs1', 1, '--epochs2', 1, '--check', 'off', '--no-report']
CLASSES = ('church', 'tench')

def copy_images(dst:Path, n:int, split:str='train', classes=CLASSES, start:int=0):
    "The first `n` images of each of `classes` from imagenette4's `split`, copied to dst/<class>/"
    for c in classes:
        (dst/c).mkdir(parents=True, exist_ok=True)
        for f in sorted((DATA/split/c).iterdir())[start:start + n]: shutil.copy(f, dst/c/f.name)
    return dst

def cfg_json(run): return json.loads((Path(run)/'config.json').read_text())

def unfinish(run:Path):
    "Make a finished run look interrupted after its last checkpoint (what a kill leaves)"
    d = cfg_json(run); d.pop('results', None)
    (run/'config.json').write_text(json.dumps(d)); (run/'export.pkl').unlink()

# --- layouts -----------------------------------------------------------------------------------------------------
def test_train_val_test_layout(tmp_path):
    "ImageNet/Kaggle naming (Train/ + val/ + test/): a model of the real classes, the test split scored, not trained on"
    d = tmp_path/'data'
    copy_images(d/'Train', 8); copy_images(d/'val', 3, 'valid'); copy_images(d/'test', 3, 'valid', start=3)
    r = twophase('train', d, *FAST, '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr
    c = cfg_json(tmp_path/'run')
    assert c['dataset']['classes'] == list(CLASSES) and c['dataset']['layout'] == 'split'
    assert (c['dataset']['n_train'], c['dataset']['n_valid']) == (16, 6)
    assert c['results']['test']['n'] == 6 and c['config']['test'] == str(d/'test')

def test_ambiguous_layout_is_an_error(tmp_path):
    d = tmp_path/'data'
    copy_images(d/'train', 4); copy_images(d/'val', 2, 'valid'); copy_images(d/'validation', 2, 'valid')
    r = twophase('train', d, *FAST, '--out', tmp_path/'run')
    assert r.returncode == 2 and 'two folders for the valid split: val/ and validation/' in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr and not (tmp_path/'run').exists()
    shutil.rmtree(d/'validation'); copy_images(d/'cat', 2)  # split folders next to a class folder
    r = twophase('check', d)
    assert r.returncode == 2 and 'mixes split folders' in r.stderr and 'cat' in r.stderr, r.stderr

def test_small_class_always_trains(tmp_path):
    "Random split: a class of 1 or 2 images keeps one for training (it crashed with a KeyError when all went to valid)"
    d = copy_images(tmp_path/'data', 10)
    copy_images(d, 1, classes=('parachute',)); copy_images(d, 2, classes=('garbage_truck',))
    r = twophase('train', d, *FAST, '--valid-pct', 0.5, '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr
    ds = cfg_json(tmp_path/'run')['dataset']
    assert ds['train_per_class'] == {'church': 5, 'garbage_truck': 1, 'parachute': 1, 'tench': 5}, ds

# --- resume against the data it was trained on --------------------------------------------------------------------
@pytest.fixture
def half_run(tmp_path):
    "(data, run) of an interrupted run on a copy of 2 classes, started with a relative DATA from tmp_path"
    d = tmp_path/'data'
    copy_images(d/'train', 8); copy_images(d/'valid', 3, 'valid')
    r = twophase('train', 'data', *FAST, '--out', 'run', '--keep-checkpoints', 5, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    unfinish(tmp_path/'run')
    return d, tmp_path/'run'

def test_resume_refuses_other_data(half_run, tmp_path):
    d, run = half_run
    before = (run/'config.json').read_bytes()
    (d/'train'/'tench').rename(d/'train'/'trout'); (d/'valid'/'tench').rename(d/'valid'/'trout')
    r = twophase('train', '--resume', run, cwd='/')
    assert r.returncode == 2 and 'is not the data this run was trained on' in r.stderr, r.stderr
    assert 'classes were church, tench; now church, trout (gone: tench) (new: trout)' in r.stderr
    assert (run/'config.json').read_bytes() == before and 'Traceback' not in r.stderr
    (d/'train'/'trout').rename(d/'train'/'tench'); (d/'valid'/'trout').rename(d/'valid'/'tench')
    gone = sorted((d/'train'/'church').iterdir())[0]; gone.unlink()
    r = twophase('train', '--resume', run, cwd='/')
    assert r.returncode == 2 and f'1 train image(s) removed: train/church/{gone.name}' in r.stderr, r.stderr
    assert (run/'config.json').read_bytes() == before

def test_resume_from_anywhere_and_moved_data(half_run, tmp_path):
    "Paths are stored resolved (a relative DATA resumes from another directory); --data gives a moved dataset"
    d, run = half_run
    c = cfg_json(run)
    assert c['config']['data'] == str(d) and c['typed_paths'] == {'data': 'data'}
    d.rename(tmp_path/'moved')
    r = twophase('train', '--resume', run, cwd='/')
    assert r.returncode == 2 and 'does not exist' in r.stderr, r.stderr
    r = twophase('train', '--resume', run, '--data', tmp_path/'moved', cwd='/')
    assert r.returncode == 0, r.stderr
    c = cfg_json(run)
    assert c['results']['finished'] and c['config']['data'] == str(tmp_path/'moved')

def test_evaluate_refuses_changed_classes(half_run, tmp_path):
    d, run = half_run
    assert twophase('train', '--resume', run).returncode == 0
    copy_images(d/'train', 2, classes=('parachute',)); copy_images(d/'valid', 2, 'valid', classes=('parachute',))
    for cmd in ('evaluate', 'report'):
        r = twophase(cmd, run)
        assert r.returncode == 2 and "the model's classes (church, tench) differ" in r.stderr, (cmd, r.stderr)

# --- safe --overwrite ---------------------------------------------------------------------------------------------
def test_overwrite_only_touches_runs(tmp_path):
    d = tmp_path/'data'
    copy_images(d/'train', 4); copy_images(d/'valid', 2, 'valid')
    mine = tmp_path/'project'; (mine/'models').mkdir(parents=True); (mine/'config.json').write_text('{"mine": 1}')
    r = twophase('train', d, *FAST, '--out', mine, '--overwrite')
    assert r.returncode == 2 and 'not a twophase run directory' in r.stderr, r.stderr
    assert (mine/'config.json').read_text() == '{"mine": 1}' and (mine/'models').is_dir()
    for out in (d, d/'runs'/'x'):
        r = twophase('train', d, *FAST, '--out', out, '--overwrite')
        assert r.returncode == 2 and 'inside the dataset' in r.stderr, r.stderr
    assert sorted(p.name for p in d.iterdir()) == ['train', 'valid']
    run = tmp_path/'run'
    assert twophase('train', d, *FAST, '--out', run).returncode == 0
    (run/'notes.txt').write_text('mine')
    r = twophase('train', d, *FAST, '--out', run, '--overwrite')
    assert r.returncode == 0 and "--overwrite: removed the earlier run's config.json, dataset.json, logs, models" in r.stdout
    assert (run/'notes.txt').read_text() == 'mine'

# --- the Python API -----------------------------------------------------------------------------------------------
def test_api_refusals(tmp_path):
    from fastai.vision.all import vision_learner, resnet18
    from twophase.data import get_dls
    from twophase.model import two_phase_learner
    from twophase.train import two_phase_fit, RunDirError
    from twophase.config import ConfigError
    copy_images(tmp_path/'data'/'train', 4); copy_images(tmp_path/'data'/'valid', 2, 'valid')
    dls = get_dls(tmp_path/'data', size=32, bs=4)
    plain = vision_learner(dls, resnet18, pretrained=False)
    with pytest.raises(ConfigError, match=r'splitter gives 3 parameter group.*two_phase_learner'): two_phase_fit(plain, 1, epochs2=0)
    learn = two_phase_learner(dls, weights=str(WEIGHTS))
    with learn.no_bar(), learn.no_logging(): two_phase_fit(learn, 1, epochs2=0, run_dir=tmp_path/'r')
    with pytest.raises(RunDirError, match='already holds a run'): two_phase_fit(learn, 1, epochs2=0, run_dir=tmp_path/'r')
    with learn.no_bar(), learn.no_logging(): two_phase_fit(learn, 1, epochs2=0, run_dir=tmp_path/'r', overwrite=True)

# --- reports at any batch size, predict on bad files, symlinks ------------------------------------------------------
def test_report_and_predict_at_small_bs_with_bad_files(tmp_path):
    "bs 2 once crashed the report (one batch of Grad-CAM images); a truncated JPEG once aborted the whole predict batch"
    d = tmp_path/'data'
    copy_images(d/'train', 6); copy_images(d/'valid', 5, 'valid')
    r = twophase('train', d, *[a if a != '--no-report' else '--report' for a in FAST], '--bs', 2, '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr
    assert (tmp_path/'run'/'report'/'gradcam.png').is_file() and (tmp_path/'run'/'report'/'top_losses.png').is_file()
    imgs = tmp_path/'imgs'; copy_images(imgs, 3, 'valid')
    good = sorted(imgs.rglob('*.JPEG')) + sorted(imgs.rglob('*.jpg'))
    (imgs/'trunc.jpg').write_bytes(good[0].read_bytes()[:3000])
    (imgs/'church'/'loop').symlink_to(imgs)  # a symlink loop
    r = twophase('predict', tmp_path/'run', imgs, '--csv', tmp_path/'p.csv')
    assert r.returncode == 0 and 'skipped' in r.stderr and 'trunc.jpg' in r.stderr, r.stderr
    lines = (tmp_path/'p.csv').read_text().splitlines()[1:]
    assert len(lines) == len(good) == 6 and all(',church,' in l or ',tench,' in l for l in lines), lines

def test_symlinked_class_folder_trains(tmp_path):
    src = copy_images(tmp_path/'elsewhere', 6)
    d = tmp_path/'data'; d.mkdir()
    for c in ('church', 'tench'): (d/c).symlink_to(src/c)
    assert twophase('check', d).returncode == 0
    r = twophase('train', d, *FAST, '--valid-pct', 0.34, '--out', tmp_path/'run')
    assert r.returncode == 0, r.stderr
    assert cfg_json(tmp_path/'run')['dataset']['train_per_class'] == {'church': 4, 'tench': 4}

def test_truncated_image_under_quick_check(tmp_path):
    d = tmp_path/'data'
    copy_images(d/'train', 4); copy_images(d/'valid', 2, 'valid')
    f = sorted((d/'train'/'church').iterdir())[0]; f.write_bytes(f.read_bytes()[:3000])
    r = twophase('train', d, *FAST, '--check', 'quick', '--out', tmp_path/'run')
    assert r.returncode == 2 and f'image {f} cannot be decoded' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    r = twophase('train', d, *FAST, '--check', 'full', '--out', tmp_path/'run2')  # the full check skips it
    assert r.returncode == 0 and cfg_json(tmp_path/'run2')['dataset']['n_train'] == 7, r.stderr

# --- disk full ----------------------------------------------------------------------------------------------------
def test_not_enough_space_at_start(tmp_path, monkeypatch):
    import shutil as sh
    from twophase.train import check_free_space, RunDirError
    monkeypatch.setattr(sh, 'disk_usage', lambda p: sh._ntuple_diskusage(10 * 2**30, 10 * 2**30 - 50 * 2**20, 50 * 2**20))
    with pytest.raises(RunDirError, match=r'only 50 MB free at .*a resnet18 run needs about 268 MB'): check_free_space(tmp_path, 'resnet18')

@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which('mount'), reason='needs root to mount a small tmpfs')
def test_disk_full_mid_run(tmp_path):
    "A real full disk (a 280 MB tmpfs): one line naming the checkpoint and the fix, exit 3, the last checkpoint intact"
    import subprocess
    small = tmp_path/'small'; small.mkdir()
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=280m', 'tmpfs', str(small)]).returncode: pytest.skip('mount failed')
    try:
        d = tmp_path/'data'; copy_images(d/'train', 6); copy_images(d/'valid', 2, 'valid')
        r = twophase('train', d, *FAST, '--epochs2', 4, '--keep-checkpoints', 10, '--out', small/'run')
        assert r.returncode == 3 and 'No space left on device -- the disk is full' in r.stderr, r.stderr
        assert 'Traceback' not in r.stderr and '--resume' in r.stderr
        import torch
        ckpts = sorted((small/'run'/'models').glob('checkpoint_epoch_*.pth'))
        assert ckpts and torch.load(ckpts[-1], weights_only=False)['epoch'] >= 1
    finally: subprocess.run(['umount', str(small)])

def test_signals_deferred_with_other_threads_alive(tmp_path):
    "A process-directed signal goes to any thread that does not block it: masking the main thread alone let the handler run inside a write"
    import signal, threading, time, torch
    from twophase.files import signals_deferred, atomic_write
    stop = threading.Event(); t = threading.Thread(target=stop.wait); t.start()  # a thread with the signal unblocked
    seen, old, old_term = [], signal.signal(signal.SIGUSR1, lambda n, f: seen.append('handled')), signal.getsignal(signal.SIGTERM)
    try:
        with signals_deferred((signal.SIGUSR1,)):
            os.kill(os.getpid(), signal.SIGUSR1)
            for _ in range(200): time.sleep(0.001)  # plenty of bytecode boundaries where the handler could run
            seen.append('block ended')
        assert seen == ['block ended', 'handled']
        # SIGTERM raising KeyboardInterrupt (the CLI's handler) inside torch.save: the file is whole, then the interrupt
        signal.signal(signal.SIGTERM, lambda n, f: (_ for _ in ()).throw(KeyboardInterrupt(f"signal {n}")))
        def slow_save(f):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100): time.sleep(0.001)
            torch.save({'w': torch.ones(3)}, f)
        with pytest.raises(KeyboardInterrupt): atomic_write(tmp_path/'ckpt.pth', slow_save)
        assert torch.equal(torch.load(tmp_path/'ckpt.pth')['w'], torch.ones(3)) and list(tmp_path.glob('*.tmp')) == []
    finally:
        stop.set(); t.join(); signal.signal(signal.SIGUSR1, old); signal.signal(signal.SIGTERM, old_term)
