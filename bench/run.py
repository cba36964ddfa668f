"""Benchmark harness: the seed recipe (plain PyTorch), fastai fine_tune, twophase defaults and twophase --fast,
side by side on one dataset, weights file and image size. Prints a markdown table and writes JSON.

    python bench/run.py                 # quick mode: 128 px, 2+2 epochs (a few minutes on a laptop CPU)
    python bench/run.py --full          # the seed's settings: 224 px, 10+30 epochs (about 25 minutes on 2 cores)
    python bench/run.py --full --methods seed_recipe,twophase_fast

Each method runs in its own process (so its peak RSS is its own), one after the other. Times are wall
seconds from the method's start (data and model set-up included, Python imports excluded). "to seed best"
is the wall time at the end of the first epoch whose valid accuracy reaches the seed recipe's best.
"""
import argparse, json, os, subprocess, sys, time, datetime, platform
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
METHODS = {  # name -> (script, extra arguments)
    'seed_recipe': ('seed_recipe.py', []),
    'fastai_fine_tune': ('fastai_fine_tune.py', []),
    'twophase_defaults': ('twophase_fit.py', []),
    'twophase_fast': ('twophase_fit.py', ['--preset', 'fast']),
    # not run by default: twophase's defaults in the plain memory layout, to compare per-epoch overhead with the plain loop
    'twophase_nchw': ('twophase_fit.py', ['--no-channels-last']),
}
DEFAULT_METHODS = ['seed_recipe', 'fastai_fine_tune', 'twophase_defaults', 'twophase_fast']

def run_method(name, a):
    script, extra = METHODS[name]
    cmd = [sys.executable, str(HERE/script), a.data, a.weights, '--size', str(a.size), '--bs', str(a.bs),
           '--epochs1', str(a.epochs1), '--epochs2', str(a.epochs2), '--workers', str(a.workers), *extra]
    if name == 'twophase_fast' and not a.full: cmd.append('--epochs-given')  # quick mode: same short epochs for all
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore'}
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    recs = [json.loads(l[6:]) for l in p.stdout.splitlines() if l.startswith('BENCH ')]
    log = [l for l in p.stdout.splitlines() if not l.startswith('BENCH ')]
    if p.returncode: raise SystemExit(f"{name} failed (exit {p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return dict(method=name, cmd=cmd, process_wall=time.perf_counter() - t0, records=recs,
                log=[l for l in log if 'cache' in l or 'speed:' in l])

def summarise(res, target):
    ep = [r for r in res['records'] if r['kind'] == 'epoch']
    end = next(r for r in res['records'] if r['kind'] == 'end')
    notes = {k: v for r in res['records'] if r['kind'] == 'note' for k, v in r.items() if k not in ('kind', 'method', 't')}
    per = {}
    for ph in (1, 2):
        e = [r for r in ep if r['phase'] == ph]
        if e: per[ph] = dict(epochs=len(e), secs=sum(r['secs'] for r in e) / len(e),
                             imgs_s=sum(r['n_train'] for r in e) / sum(r['secs'] for r in e))
    best = max(ep, key=lambda r: r['valid_acc'])
    hit = next((r for r in ep if target is not None and r['valid_acc'] >= target - 1e-9), None)
    return dict(method=res['method'], wall=end['wall'], per_phase=per, peak_rss_mb=end['peak_rss_mb'],
                best_acc=best['valid_acc'], best_epoch=best['epoch'], final_acc=ep[-1]['valid_acc'],
                to_target=hit['t'] if hit else None, to_target_epoch=hit['epoch'] if hit else None, notes=notes)

def table(rows, seed_wall):
    f = lambda v, fmt: '—' if v is None else format(v, fmt)
    out = ["| method | wall s | s/epoch P1 | s/epoch P2 | img/s P1 | img/s P2 | peak RSS MB | best acc (epoch) | final acc "
           "| to seed best s (epoch) | vs seed wall |", "|" + "---|" * 11]
    for r in rows:
        p1, p2 = r['per_phase'].get(1, {}), r['per_phase'].get(2, {})
        tt, te = r['to_target'], r['to_target_epoch']
        out.append(f"| {r['method']} | {r['wall']:.1f} | {f(p1.get('secs'), '.2f')} | {f(p2.get('secs'), '.2f')} | "
                   f"{f(p1.get('imgs_s'), '.0f')} | {f(p2.get('imgs_s'), '.0f')} | {r['peak_rss_mb']:.0f} | "
                   f"{r['best_acc']:.3f} ({r['best_epoch']}) | {r['final_acc']:.3f} | "
                   f"{'—' if tt is None else f'{tt:.1f} ({te})'} | "
                   f"{'—' if tt is None else f'1/{seed_wall / tt:.1f}'} |")
    return '\n'.join(out)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n'.join(__doc__.splitlines()[2:]))
    p.add_argument('--data', default=os.environ.get('TWOPHASE_DATA', str(ROOT.parent/'shared/data/imagenette4')))
    p.add_argument('--weights', default=os.environ.get('TWOPHASE_WEIGHTS', str(ROOT.parent/'shared/weights/resnet18-fixture.pth')))
    p.add_argument('--full', action='store_true', help='224 px, 10+30 epochs (default: quick mode, 128 px, 2+2)')
    p.add_argument('--size', type=int); p.add_argument('--epochs1', type=int); p.add_argument('--epochs2', type=int)
    p.add_argument('--bs', type=int, default=32); p.add_argument('--workers', type=int, default=0)
    p.add_argument('--methods', default=','.join(DEFAULT_METHODS), help=f"comma-separated, from {', '.join(METHODS)}")
    p.add_argument('--out', help='JSON file (default: bench/results/<mode>-<time>.json)')
    a = p.parse_args(argv)
    a.size = a.size or (224 if a.full else 128)
    a.epochs1 = a.epochs1 if a.epochs1 is not None else (10 if a.full else 2)
    a.epochs2 = a.epochs2 if a.epochs2 is not None else (30 if a.full else 2)
    names = [m.strip() for m in a.methods.split(',') if m.strip()]
    bad = [m for m in names if m not in METHODS]
    if bad: p.error(f"unknown method(s) {', '.join(bad)}; choose from {', '.join(METHODS)}")
    if 'seed_recipe' in names: names = ['seed_recipe'] + [m for m in names if m != 'seed_recipe']  # its best is the target
    print(f"bench: {a.data} | {Path(a.weights).name} | {a.size} px | epochs {a.epochs1}+{a.epochs2} | bs {a.bs} | "
          f"{os.cpu_count()} CPUs | methods {', '.join(names)}", flush=True)
    results, rows, target, seed_wall = [], [], None, None
    for n in names:
        print(f"running {n} ...", flush=True)
        res = run_method(n, a); results.append(res)
        s = summarise(res, target)
        if n == 'seed_recipe': target, seed_wall = s['best_acc'], s['wall']; s = summarise(res, target)
        rows.append(s)
        print(f"  {n}: wall {s['wall']:.1f}s, best {s['best_acc']:.3f}, peak RSS {s['peak_rss_mb']:.0f} MB", flush=True)
    print(f"\nseed recipe best valid accuracy (the target): {target}\n" if target is not None else '')
    print(table(rows, seed_wall or rows[0]['wall']))
    for r in rows:
        if r['notes'].get('cache_seconds'): print(f"\n{r['method']}: feature-cache passes took {r['notes']['cache_seconds']:.1f}s in all")
    out = Path(a.out) if a.out else HERE/'results'/f"{'full' if a.full else 'quick'}-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(args=vars(a), machine=dict(cpus=os.cpu_count(), platform=platform.platform()),
                                   target=target, summary=rows, runs=results), indent=1))
    print(f"\nwrote {out}")
    return rows

if __name__ == '__main__': main()
