"""Crash safety of `twophase train`: a real run is SIGKILLed at random points (one of them inside a checkpoint write),
Ctrl-C'd and SIGTERMed, resumed each time with `--resume`, and must end complete, consistent and with the same
weights as an uninterrupted run of the same seed."""
import builtins, dis, json, os, random, re, signal, subprocess, sys, time
import pandas as pd
import pytest
import torch
from conftest import DATA, WEIGHTS, ROOT, twophase

ARGS = ['train', DATA, '--weights', WEIGHTS, '--size', 32, '--bs', 64, '--epochs1', 2, '--epochs2', 4,
        '--check', 'off', '--no-report', '--keep-checkpoints', 10]
EPOCHS, PHASES, PHASE_EPOCHS = [1, 2, 3, 4, 5, 6], [1, 1, 2, 2, 2, 2], [1, 2, 1, 2, 3, 4]
SEED = 20240607  # the kill schedule's random delays
# the kill campaign: SIGKILL after a random delay, SIGKILL inside a checkpoint write, Ctrl-C, then 3 more SIGKILLs
PLAN = ['kill', 'ckpt-write', 'sigint', 'kill', 'kill', 'kill']

# `twophase.cli.main` with optional slow checkpoint writes, so the test can signal a process in the middle of one:
# SLOW_SAVE=1: after `torch.save` has written, print CKPT-WRITE <temp file name> and sleep before returning (the temp
# file exists and has not been renamed yet); SLOW_SAVE=inside: sleep inside `torch.save`, after its first write calls.
HARNESS = '''
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C as from a terminal (a launch with & or nohup inherits it ignored)
MODE, PAUSE = os.environ.get('SLOW_SAVE'), float(os.environ.get('SLOW_SAVE_S', '3'))
def _name(f):
    try: return os.path.basename(os.readlink(f'/proc/self/fd/{f.fileno()}'))
    except Exception: return os.path.basename(str(getattr(f, 'name', f)))
class _SlowFile:
    "A file whose third write call pauses (torch.save writes through `write`)"
    def __init__(self, f): self._f, self._n = f, 0
    def write(self, b):
        n = self._f.write(b); self._n += 1
        if self._n == 3: print(f'CKPT-WRITE-INSIDE {_name(self._f)}', flush=True); time.sleep(PAUSE)
        return n
    def __getattr__(self, k): return getattr(self._f, k)
if MODE:
    import torch
    _save = torch.save
    def _slow_save(obj, f, *args, **kwargs):
        if MODE == 'inside' and hasattr(f, 'fileno'): return _save(obj, _SlowFile(f), *args, **kwargs)
        res = _save(obj, f, *args, **kwargs)
        print(f'CKPT-WRITE {_name(f)}', flush=True)
        time.sleep(PAUSE)
        return res
    torch.save = _slow_save
from twophase.cli import main
sys.exit(main(sys.argv[1:]))
'''

def _undefined_globals(fn) -> list:
    "Global names `fn` reads that its module does not define (each one is a NameError waiting to happen)"
    return sorted({i.argval for i in dis.get_instructions(fn) if i.opname == 'LOAD_GLOBAL'
                   and i.argval not in fn.__globals__ and not hasattr(builtins, i.argval)})


def test_resume_code_has_no_undefined_names():
    "`resume_training` once called `load_config` without importing it: every resume died with NameError"
    from twophase import train
    assert _undefined_globals(train.resume_training) + _undefined_globals(train.run_training) == []

# ---------------------------------------------------------------------------------------------------------------
class Proc:
    "A `twophase` process started through the harness; stdout/stderr go to files"
    live = []
    def __init__(self, harness, args, logs, name, slow_save=None):
        self.name, self.out, self.err = name, logs/f'{name}.out', logs/f'{name}.err'
        env = {k: v for k, v in os.environ.items() if k != 'SLOW_SAVE'}
        env.update(PYTHONUNBUFFERED='1', PYTHONWARNINGS='ignore',
                   PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get('PYTHONPATH')) if p))
        if slow_save: env['SLOW_SAVE'] = slow_save
        with open(self.out, 'wb') as o, open(self.err, 'wb') as e:
            self.p = subprocess.Popen([sys.executable, str(harness), *map(str, args)], stdout=o, stderr=e, env=env,
                                      cwd=logs, start_new_session=True)
        Proc.live.append(self)
    @property
    def stdout(self): return self.out.read_text(errors='replace')
    @property
    def stderr(self): return self.err.read_text(errors='replace')
    def tail(self): return f"--- {self.name} stdout ---\n{self.stdout[-2000:]}\n--- {self.name} stderr ---\n{self.stderr[-4000:]}"
    def wait(self, timeout=180):
        try: return self.p.wait(timeout)
        finally: self.stop()
    def stop(self):
        "SIGKILL the process group if the leader still runs (the leader is unreaped, so its group id is still ours)"
        if self.p.poll() is None:
            try: os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError: pass
            self.p.wait()

@pytest.fixture(scope='module')
def harness(tmp_path_factory):
    p = tmp_path_factory.mktemp('harness')/'run_twophase.py'
    p.write_text(HARNESS)
    yield p
    for pr in Proc.live: pr.stop()

def csv_rows(run_dir) -> int:
    "Rows in the run's CSV (written atomically, so never half a file)"
    try: return max(len((run_dir/'logs'/'training_metrics.csv').read_text().splitlines()) - 1, 0)
    except FileNotFoundError: return 0

def saved_epoch(run_dir) -> int:
    "Epoch of the newest complete checkpoint file"
    return max([int(m[1]) for p in (run_dir/'models').glob('checkpoint_epoch_*.pth')
                if (m := re.fullmatch(r'checkpoint_epoch_(\d+)\.pth', p.name))], default=0)

def min_epoch_seconds(run_dir) -> float:
    try: return float(pd.read_csv(run_dir/'logs'/'training_metrics.csv').seconds.min())
    except Exception: return 1.0

def training_started(pr) -> bool:
    "The process printed the header of the phase it trains (after any resume bookkeeping, inside the interrupt guard)"
    return re.search(r"Phase \d+/\d+ '", pr.stdout) is not None

def wait_for(cond, pr, what, timeout=120) -> bool:
    "Poll `cond` every 0.05 s until it holds (True), `pr` exits (`cond()`), or the timeout (error)"
    end = time.monotonic() + timeout
    while True:
        if cond(): return True
        if pr.p.poll() is not None: return cond()
        if time.monotonic() > end: raise AssertionError(f"timed out waiting for {what}\n{pr.tail()}")
        time.sleep(0.05)

def tmp_files(run_dir) -> list: return sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob('*.tmp'))

def model_state(path) -> dict: return torch.load(path, map_location='cpu', weights_only=False)['model']

def assert_same_weights(run, ref, msg=''):
    "The last checkpoints of `run` and `ref` hold bit-identical weights (the message says if they are at least close)"
    a, b = model_state(run/'models'/'checkpoint_epoch_006.pth'), model_state(ref/'models'/'checkpoint_epoch_006.pth')
    assert a.keys() == b.keys()
    diff = [k for k in a if not torch.equal(a[k], b[k])]
    close = all(torch.allclose(a[k].float(), b[k].float(), atol=1e-6) for k in diff)
    assert diff == [], f"{len(diff)} tensors differ ({'allclose at 1e-6' if close else 'not even allclose'}), e.g. {diff[:3]}{msg}"

def unreadable(run_dir, seen:dict) -> list:
    "Load every .pth in models/ that is new or changed since the last call; return the ones that do not load"
    bad = []
    for p in sorted((run_dir/'models').glob('*.pth')):
        st = p.stat(); key = (st.st_mtime_ns, st.st_size)
        if seen.get(p.name) == key: continue
        try:
            assert 'model' in torch.load(p, map_location='cpu', weights_only=False)
            seen[p.name] = key
        except Exception as e: bad.append(f'{p.name}: {type(e).__name__}: {e}')
    return bad

@pytest.fixture(scope='module')
def ref(tmp_path_factory):
    "An uninterrupted run with the same arguments, through the plain CLI"
    out = tmp_path_factory.mktemp('ref')/'run'
    r = twophase(*ARGS, '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    return out

@pytest.fixture(scope='module')
def campaign(tmp_path_factory, harness):
    "Run PLAN against one run directory, then resume it to the end; return what happened"
    d = tmp_path_factory.mktemp('killed'); run_dir = d/'run'
    rng, events, seen, launches = random.Random(SEED), [], {}, 0
    def start(tag, slow=None):
        nonlocal launches
        launches += 1
        args = ['train', '--resume', run_dir] if launches > 1 else [*ARGS, '--out', run_dir]
        return Proc(harness, args, d, f'{launches:02d}-{tag}', slow)
    for step in PLAN:
        base = saved_epoch(run_dir) if launches else 0
        pr = start(step, slow='1' if step == 'ckpt-write' else None)
        ev = dict(step=step, resumed_from=base if launches > 1 else None)
        if not wait_for(lambda: training_started(pr), pr, f'{pr.name} to start training'):
            ev.update(rc=pr.wait(), note='exited before training', tail=pr.tail()); events.append(ev); break
        m = re.search(r'Resumed at epoch (\d+)', pr.stdout)
        ev['log_resumed_at'] = int(m[1]) if m else 0
        if step == 'kill':
            # at least one new epoch beyond the resume point, then a random delay kept under an epoch's length
            if not wait_for(lambda: csv_rows(run_dir) > base, pr, f'{pr.name}: a CSV row beyond epoch {base}'):
                ev.update(rc=pr.wait(), note='exited before a new epoch', tail=pr.tail()); events.append(ev); break
            time.sleep(rng.uniform(0, min(1.5, 0.7 * min_epoch_seconds(run_dir))))
            ev['rows_at_kill'] = csv_rows(run_dir)
            pr.p.send_signal(signal.SIGKILL)
        elif step == 'ckpt-write':
            # killed while a periodic checkpoint's temp file is written (epoch 3: right after best_model.pth of epoch 3)
            target = f'.checkpoint_epoch_{max(base + 1, 3):03d}.pth.'
            writing = lambda: [n for n in re.findall(r'CKPT-WRITE (\S+)', pr.stdout) if n.startswith(target)]
            if not wait_for(lambda: writing(), pr, f'{pr.name}: CKPT-WRITE {target}*'):
                ev.update(rc=pr.wait(), note='exited before the checkpoint write', tail=pr.tail()); events.append(ev); break
            ev.update(writing=writing()[0], tmp_at_kill=tmp_files(run_dir), rows_at_kill=csv_rows(run_dir))
            pr.p.send_signal(signal.SIGKILL)
        elif step == 'sigint':
            time.sleep(rng.uniform(0.1, 0.5) * min_epoch_seconds(run_dir))  # inside the first epoch it trains
            ev['rows_at_kill'] = csv_rows(run_dir)
            pr.p.send_signal(signal.SIGINT)
        ev['rc'] = pr.wait(timeout=120)
        ev.update(saved_after=saved_epoch(run_dir), unreadable=unreadable(run_dir, seen), stderr=pr.stderr[-1500:])
        events.append(ev)
        if ev['rc'] == 0: break  # finished before the signal landed
    final = start('final')
    final_rc = final.wait(timeout=240)
    res = dict(run=run_dir, events=events, final_rc=final_rc, final_tail=final.tail(), launches=launches)
    print('\nkill points:\n' + '\n'.join(f"  {e['step']:10s} rc={e.get('rc')} resumed_from={e.get('resumed_from')} "
          f"rows_at_kill={e.get('rows_at_kill')} saved_after={e.get('saved_after')} {e.get('writing', '')}" for e in events))
    return res

def _fmt(c): return '\n'.join(f"{ {k: v for k, v in e.items() if k not in ('stderr', 'tail')} }" for e in c['events'])

def test_killed_run_resumes_to_a_complete_run(campaign):
    c, run = campaign, campaign['run']
    evs = c['events']
    assert [e['step'] for e in evs] == PLAN, f"campaign stopped early:\n{_fmt(c)}\n{evs[-1].get('tail', '')}"
    kills = [e for e in evs if e['step'] in ('kill', 'ckpt-write')]
    assert len(kills) >= 5 and all(e['rc'] == -signal.SIGKILL for e in kills), _fmt(c)
    for e in evs[1:]:  # each resume continued from the newest complete checkpoint
        assert e['log_resumed_at'] == e['resumed_from'], _fmt(c)
    for e in evs: assert e['unreadable'] == [], e  # after every kill, every visible .pth is complete
    w = next(e for e in evs if e['step'] == 'ckpt-write')
    assert w['writing'] in [t.split('/')[-1] for t in w['tmp_at_kill']], w  # killed with the temp file on disk
    assert w['saved_after'] < int(w['writing'][len('.checkpoint_epoch_'):][:3]), w  # ... and never renamed
    s = next(e for e in evs if e['step'] == 'sigint')
    assert s['rc'] == 130 and 'twophase train --resume' in s['stderr'] and 'Traceback' not in s['stderr'], s
    assert c['final_rc'] == 0, c['final_tail']
    df = pd.read_csv(run/'logs'/'training_metrics.csv')
    assert list(df.epoch) == EPOCHS and list(df.phase) == PHASES and list(df.phase_epoch) == PHASE_EPOCHS
    assert tmp_files(run) == []
    pths = sorted((run/'models').glob('*.pth'))
    assert [p.name for p in pths] == ['best_model.pth'] + [f'checkpoint_epoch_{i:03d}.pth' for i in EPOCHS]
    for p in pths:
        ck = torch.load(p, weights_only=False)
        assert 'model' in ck, p
        if p.name.startswith('checkpoint'): assert ck['epoch'] == int(p.stem[-3:]) == len(ck['history']), p
    assert (run/'export.pkl').is_file()
    cfg = json.loads((run/'config.json').read_text())
    assert cfg['results']['finished'] is True and cfg['results']['epochs'] == 6
    assert len(cfg['resumed']) == c['launches'] - 1, cfg.get('resumed')  # every launch but the first was a resume
    r = twophase('train', '--resume', run)
    assert r.returncode == 0 and 'already finished' in r.stdout, r.stdout[-2000:] + r.stderr[-2000:]

def test_killed_run_ends_with_the_uninterrupted_weights(campaign, ref):
    run = campaign['run']
    assert campaign['final_rc'] == 0, campaign['final_tail']
    cols = ['epoch', 'phase', 'phase_epoch', 'train_loss', 'train_accuracy', 'valid_loss', 'valid_accuracy', 'lr']
    got, want = [pd.read_csv(d/'logs'/'training_metrics.csv')[cols] for d in (run, ref)]
    assert_same_weights(run, ref, f"\n{got}\n{want}")
    pd.testing.assert_frame_equal(got, want)

def test_sigterm_then_resume(tmp_path, harness, ref):
    run = tmp_path/'run'
    pr = Proc(harness, [*ARGS, '--out', run], tmp_path, 'sigterm')
    # after the first CSV row and its checkpoint: the signal lands in epoch 2 (a signal inside a write: next test)
    assert wait_for(lambda: csv_rows(run) >= 1 and saved_epoch(run) >= 1, pr, 'the first checkpoint'), pr.tail()
    pr.p.send_signal(signal.SIGTERM)
    rc = pr.wait(timeout=120)
    assert rc == 130 and 'twophase train --resume' in pr.stderr and 'Traceback' not in pr.stderr, pr.tail()
    pr = Proc(harness, ['train', '--resume', run], tmp_path, 'sigterm-resume')
    assert pr.wait(timeout=240) == 0, pr.tail()
    df = pd.read_csv(run/'logs'/'training_metrics.csv')
    assert list(df.epoch) == EPOCHS and list(df.phase) == PHASES
    assert tmp_files(run) == [] and json.loads((run/'config.json').read_text())['results']['finished'] is True
    assert_same_weights(run, ref)

@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_signal_inside_a_checkpoint_write_exits_130(tmp_path, harness, sig):
    run = tmp_path/'run'
    pr = Proc(harness, [*ARGS, '--out', run], tmp_path, 'inside', slow_save='inside')
    assert wait_for(lambda: 'CKPT-WRITE-INSIDE' in pr.stdout, pr, 'a checkpoint write'), pr.tail()
    assert tmp_files(run) != []  # the signal arrives with a temp file half written
    pr.p.send_signal(sig)
    rc = pr.wait(timeout=120)
    assert tmp_files(run) == []  # atomic_write removed it
    assert rc == 130 and 'twophase train --resume' in pr.stderr and 'Traceback' not in pr.stderr, pr.tail()
