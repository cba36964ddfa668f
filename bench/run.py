"""Benchmark harness: the seed recipe (plain PyTorch), fastai fine_tune, twophase defaults and twophase --fast,
side by side on one dataset, weights file and image size. Prints a markdown table and writes JSON.

    python bench/run.py                 # quick mode: 128 px, 2+2 epochs (a few minutes on a laptop CPU)
    python bench/run.py --full          # the seed's settings: 224 px, 10+30 epochs (about 25 minutes on 2 cores)
    python bench/run.py --full --methods seed_recipe,twophase_fast
    python bench/run.py --full --seeds 3          # each method over seeds 1..3, scored on the test images

Methods are compared on test images that played no part in training or model selection (--test, by default
../shared/data/imagenette4-test when it exists): the table shows the mean test accuracy over seeds with its 95%
t interval (Wilson's interval of the 400 images for a single seed). Best- and last-epoch valid accuracy (100 images,
the best one chosen on them) are shown for reference only.

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
    'twophase_old_defaults': ('twophase_fit.py', ['--old-defaults']),
    'twophase_lpft': ('twophase_fit.py', ['--preset', 'lpft']),  # LP-FT: head, then every layer (the study's best)
    # not run by default: twophase's defaults in the plain memory layout, to compare per-epoch overhead with the plain loop
    'twophase_nchw': ('twophase_fit.py', ['--no-channels-last']),
}
DEFAULT_METHODS = ['seed_recipe', 'fastai_fine_tune', 'twophase_defaults', 'twophase_fast']

def run_method(name, a, seed=42):
    script, extra = METHODS[name]
    cmd = [sys.executable, str(HERE/script), a.data, a.weights, '--size', str(a.size), '--bs', str(a.bs),
           '--epochs1', str(a.epochs1), '--epochs2', str(a.epochs2), '--workers', str(a.workers), '--seed', str(seed),
           '--arch', a.arch, '--mean-std', a.mean_std, *(['--test', a.test] if a.test else []), *extra]
    if name == 'twophase_fast' and not a.full: cmd.append('--epochs-given')  # quick mode: same short epochs for all
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore'}
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
    recs = [json.loads(l[6:]) for l in p.stdout.splitlines() if l.startswith('BENCH ')]
    log = [l for l in p.stdout.splitlines() if not l.startswith('BENCH ')]
    if p.returncode: raise SystemExit(f"{name} failed (exit {p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return dict(method=name, seed=seed, cmd=cmd, process_wall=time.perf_counter() - t0, records=recs,
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
    return dict(method=res['method'], seed=res.get('seed'), test_acc=notes.get('test_acc'), n_test=notes.get('n_test'), wall=end['wall'], per_phase=per, peak_rss_mb=end['peak_rss_mb'],
                best_acc=best['valid_acc'], best_epoch=best['epoch'], final_acc=ep[-1]['valid_acc'],
                to_target=hit['t'] if hit else None, to_target_epoch=hit['epoch'] if hit else None, notes=notes)

def table(rows, seed_wall):
    f = lambda v, fmt: '—' if v is None else format(v, fmt)
    out = ["| method (seed) | wall s | s/epoch P1 | s/epoch P2 | img/s P1 | img/s P2 | peak RSS MB | best acc (epoch) | final acc "
           "| to seed best s (epoch) | vs seed wall |", "|" + "---|" * 11]
    for r in rows:
        p1, p2 = r['per_phase'].get(1, {}), r['per_phase'].get(2, {})
        tt, te = r['to_target'], r['to_target_epoch']
        out.append(f"| {r['method']} ({r.get('seed')}) | {r['wall']:.1f} | {f(p1.get('secs'), '.2f')} | {f(p2.get('secs'), '.2f')} | "
                   f"{f(p1.get('imgs_s'), '.0f')} | {f(p2.get('imgs_s'), '.0f')} | {r['peak_rss_mb']:.0f} | "
                   f"{r['best_acc']:.3f} ({r['best_epoch']}) | {r['final_acc']:.3f} | "
                   f"{'—' if tt is None else f'{tt:.1f} ({te})'} | "
                   f"{'—' if tt is None else f'1/{seed_wall / tt:.1f}'} |")
    return '\n'.join(out)

def by_method(rows):
    "Per method: mean test accuracy with its 95% interval over seeds, wall and per-epoch times, valid accuracies"
    from twophase.stats import t_interval, wilson
    out = []
    for m in dict.fromkeys(r['method'] for r in rows):
        rs = [r for r in rows if r['method'] == m]
        acc = [r['test_acc'] for r in rs if r['test_acc'] is not None]
        mean, lo, hi = t_interval(acc) if len(acc) > 1 else (acc[0], *wilson(round(acc[0] * rs[0]['n_test']), rs[0]['n_test'])) if acc else (None,) * 3
        avg = lambda k: sum(r[k] for r in rs) / len(rs)
        out.append(dict(method=m, seeds=len(rs), test_acc=mean, ci_low=lo, ci_high=hi, n_test=rs[0]['n_test'], wall=avg('wall'),
                        p1=sum(r['per_phase'].get(1, {}).get('secs', 0) for r in rs) / len(rs),
                        p2=sum(r['per_phase'].get(2, {}).get('secs', 0) for r in rs) / len(rs),
                        peak=max(r['peak_rss_mb'] for r in rs), best=avg('best_acc'), last=avg('final_acc')))
    return out

def test_table(agg, seed_wall):
    f = lambda v, fmt: '—' if v is None else format(v, fmt)
    out = ["| method | seeds | test acc (95% CI) | wall s | vs seed wall | s/epoch P1 | s/epoch P2 | peak RSS MB | best valid | last valid |",
           "|" + "---|" * 10]
    for r in agg:
        acc = '—' if r['test_acc'] is None else f"{r['test_acc']:.3f} ({r['ci_low']:.3f}-{r['ci_high']:.3f})"
        out.append(f"| {r['method']} | {r['seeds']} | {acc} | {r['wall']:.1f} | 1/{seed_wall / r['wall']:.1f} | {f(r['p1'], '.2f')} | "
                   f"{f(r['p2'], '.2f')} | {r['peak']:.0f} | {r['best']:.3f} | {r['last']:.3f} |")
    return '\n'.join(out)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n'.join(__doc__.splitlines()[2:]))
    p.add_argument('--data', default=os.environ.get('TWOPHASE_DATA', str(ROOT.parent/'shared/data/imagenette4')))
    p.add_argument('--weights', default=os.environ.get('TWOPHASE_WEIGHTS', str(ROOT.parent/'shared/weights/resnet18-fixture.pth')))
    p.add_argument('--arch', default='resnet18', help='resnet18, or a timm model such as efficientnet_lite0 (weights without classifier)')
    p.add_argument('--mean-std', default='auto', help="normalisation: auto (the weights file's NAME.json, else ImageNet's), imagenet, half, R,G,B/R,G,B")
    p.add_argument('--full', action='store_true', help='224 px, 10+30 epochs (default: quick mode, 128 px, 2+2)')
    p.add_argument('--size', type=int); p.add_argument('--epochs1', type=int); p.add_argument('--epochs2', type=int)
    p.add_argument('--bs', type=int, default=32); p.add_argument('--workers', type=int, default=0)
    test = ROOT.parent/'shared/data/imagenette4-test'
    p.add_argument('--test', default=os.environ.get('TWOPHASE_TEST', str(test) if test.is_dir() else None),
                   help='folder of class folders to score each method on (default: imagenette4-test beside the repo)')
    p.add_argument('--seeds', type=int, default=1, help='run each method with seeds 1..N (default: 1, seed 42)')
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
    print(f"bench: {a.data} | {a.arch} {Path(a.weights).name} | {a.size} px | epochs {a.epochs1}+{a.epochs2} | bs {a.bs} | "
          f"{os.cpu_count()} CPUs | methods {', '.join(names)}", flush=True)
    results, rows, target, seed_wall = [], [], None, None
    seeds = list(range(1, a.seeds + 1)) if a.seeds > 1 else [42]
    for n in names:
        for sd in seeds:
            print(f"running {n} (seed {sd}) ...", flush=True)
            res = run_method(n, a, sd); results.append(res)
            s = summarise(res, target)
            if n == 'seed_recipe' and target is None: target, seed_wall = s['best_acc'], s['wall']; s = summarise(res, target)
            rows.append(s)
            print(f"  {n}: wall {s['wall']:.1f}s, test {s['test_acc']}, best valid {s['best_acc']:.3f}, peak RSS {s['peak_rss_mb']:.0f} MB", flush=True)
    agg = by_method(rows)
    seed_wall = next((r['wall'] for r in agg if r['method'] == 'seed_recipe'), agg[0]['wall'])
    print(f"\ntest images: {a.test} ({rows[0]['n_test']} images)\n" if a.test else '\nno test folder: valid accuracies only\n')
    print(test_table(agg, seed_wall))
    print(f"\nper run (valid accuracies on {a.data}/valid, the best one chosen on those images):\n")
    print(table(rows, seed_wall))
    for r in rows:
        if r['notes'].get('cache_seconds'): print(f"\n{r['method']}: feature-cache passes took {r['notes']['cache_seconds']:.1f}s in all")
    out = Path(a.out) if a.out else HERE/'results'/f"{'full' if a.full else 'quick'}-{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(args=vars(a), machine=dict(cpus=os.cpu_count(), platform=platform.platform()),
                                   target=target, by_method=agg, summary=rows, runs=results), indent=1))
    print(f"\nwrote {out}")
    return rows

if __name__ == '__main__': main()
