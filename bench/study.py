"""The recipe study: every method's test accuracy over seeds, against the plain seed script, in one table.

Reads what the study's runs left (run them first; see bench/README.md):
  bench/results/study/seed_recipe-seed<k>.jsonl   the plain PyTorch seed script (bench/seed_recipe.py --test)
  bench/results/study/<name>/                     `twophase compare` directories (--seeds 3 --test)
and prints a markdown table (also written to bench/results/study/STUDY.md): mean test accuracy with its 95% t interval,
the same with test-time flips, the accuracy of an ensemble of the recipe's seeds (mean of their probabilities), wall
time, and the paired difference against the seed script on the same seeds with a verdict.

    python bench/study.py [--last]     # --last: also the test accuracy of the last epoch of runs that handed over their best
    python bench/study.py --dir bench/results/study-lite0 --backbone "ImageNet EfficientNet-Lite0"   # another backbone's study

Test error (1 - accuracy) is shown beside accuracy, with the share of the seed script's error a recipe removes
("error cut"): near 95% accuracy that is the meaningful figure (from 4% to 3% error is a quarter of the errors).
"""
import json, sys
from pathlib import Path
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from twophase.stats import t_interval, paired_diff
from twophase.compare_report import summarise

STUDY = ROOT/'bench'/'results'/'study'

def seed_script(d=STUDY) -> pd.DataFrame:
    rows = []
    for f in sorted(d.glob('seed_recipe-seed*.jsonl')):
        recs = [json.loads(l[6:]) for l in f.read_text().splitlines() if l.startswith('BENCH ')]
        note = next((r for r in recs if r['kind'] == 'note' and 'test_acc' in r), None)
        end = next((r for r in recs if r['kind'] == 'end'), None)
        if note and end:
            rows.append(dict(source='seed script', recipe='seed_script', k=int(f.stem.rsplit('seed', 1)[1]), test=note['test_acc'],
                             flip=np.nan, wall=end['wall'], ens=None))
    return pd.DataFrame(rows)

def ensemble_acc(run_dirs, flip=False) -> float:
    "Accuracy of the mean of the runs' test probabilities"
    dfs = [pd.read_csv(Path(d)/'test_predictions.csv') for d in run_dirs]
    classes = [c for c in dfs[0].columns if c not in ('file', 'label') and not c.startswith('flip_')]
    cols = [f'flip_{c}' for c in classes] if flip else classes
    p = sum(d[cols].to_numpy() + (d[classes].to_numpy() if flip else 0) for d in dfs)
    return float((np.array(classes)[p.argmax(1)] == dfs[0].label.to_numpy()).mean())

def compares(d=STUDY) -> pd.DataFrame:
    rows = []
    for c in sorted(p for p in d.iterdir() if (p/'compare.json').exists()):
        df = summarise(c)
        for r in df.itertuples():
            res = json.loads((c/'runs'/r.recipe/r.run/'config.json').read_text())['results']
            rows.append(dict(source=c.name, recipe=r.recipe, k=r.k, test=r.test_accuracy, flip=res.get('test_flip', {}).get('top1', np.nan),
                             wall=r.wall_seconds, ens=str(c/'runs'/r.recipe/r.run)))
    return pd.DataFrame(rows)

def last_epoch_test(run_dir) -> float:
    "Test accuracy of the run's last epoch (its newest checkpoint), for runs that handed over their best epoch"
    import torch
    from twophase.interpret import load_run
    from twophase.checkpoints import load_checkpoint
    from twophase.metrics import score_folder
    run_dir = Path(run_dir)
    meta = json.loads((run_dir/'config.json').read_text())
    if meta['results'].get('handed_over') != 'best': return np.nan
    ck = load_checkpoint(sorted((run_dir/'models').glob('checkpoint_epoch_*.pth'))[-1])
    learn = load_run(run_dir, with_data=False)
    learn.model.load_state_dict(ck['model'])
    return score_folder(learn, meta['config']['test'])['top1']

def table(df: pd.DataFrame, ref='seed_script') -> str:
    refs = df[df.recipe == ref].set_index('k').test
    seed_wall = df[df.recipe == ref].wall.mean() if len(refs) else np.nan
    seed_err = 1 - refs.mean() if len(refs) else np.nan
    lines = ["| recipe (compare dir) | runs | test acc ± 95% CI | test error | error cut vs seed script | last epoch instead of best (vs seed script, paired) | with flips | ensemble of the runs (flips) | wall s | vs seed wall "
             "| vs seed script (paired, 95% CI) | verdict |", "|" + "---|" * 12]
    for (src, recipe), g in df.groupby(['source', 'recipe'], sort=False):
        m, lo, hi = t_interval(g.test)
        fm = t_interval(g.flip)[0]
        ens = '—'
        if g.ens.notna().all() and len(g) > 1:
            ens = f"{ensemble_acc(list(g.ens)):.3f} ({ensemble_acc(list(g.ens), flip=True):.3f})"
        d = paired_diff([g.set_index('k').test.get(k) for k in refs.index], list(refs)) if recipe != ref else None
        pm = f"± {hi - m:.3f}" if np.isfinite(hi) else ''
        lasts = pd.Series([last_epoch_test(d) for d in g.ens], index=g.k.values) if LAST and g.ens.notna().all() else None
        last = lasts.mean() if lasts is not None else np.nan
        if np.isfinite(last) and len(refs):  # the last epoch against the seed script, paired by seed
            dl = paired_diff([lasts.get(k) for k in refs.index], list(refs))
            last_txt = f"{last:.3f} ({dl['diff']:+.3f}" + (f", {dl['low']:+.3f} to {dl['high']:+.3f})" if np.isfinite(dl['low']) else ')')
        else: last_txt = '—' if np.isnan(last) else f'{last:.3f}'
        cut = '—' if recipe == ref or not np.isfinite(seed_err) or seed_err == 0 else f"{(seed_err - (1 - m)) / seed_err:+.0%}"
        lines.append(f"| {recipe} ({src}) | {len(g)} | {m:.3f} {pm} | {1 - m:.3f} | {cut} | {last_txt} | "
                     f"{'—' if np.isnan(fm) else f'{fm:.3f}'} | {ens} | "
                     f"{g.wall.mean():.0f} | {'—' if np.isnan(seed_wall) else f'1/{seed_wall / g.wall.mean():.1f}'} | "
                     + ((f"{d['diff']:+.3f} ({d['low']:+.3f} to {d['high']:+.3f})" if np.isfinite(d['low']) else f"{d['diff']:+.3f}")
                        + f" | {d['verdict']} |" if d else "— | reference |"))
    return '\n'.join(lines)

LAST = '--last' in sys.argv  # also score each best-epoch run's last epoch on the test images (slow: loads every run)

if __name__ == '__main__':
    import argparse
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--last', action='store_true'); p.add_argument('--dir', default=str(STUDY))
    p.add_argument('--backbone', default='fixture ResNet-18')
    a = p.parse_args()
    d = Path(a.dir)
    df = pd.concat([seed_script(d), compares(d)], ignore_index=True)
    cmd = 'python bench/study.py' + (f" --dir {a.dir} --backbone \"{a.backbone}\"" if d != STUDY else '')
    text = (f"# Recipe study: test accuracy on {len(df)} runs\n\nimagenette4 (400 train / 100 valid), scored on imagenette4-test "
            f"(400 images), {a.backbone}, 224 px, seeds 1-3. Generated by `{cmd}`.\n\n" + table(df) + '\n')
    (d/'STUDY.md').write_text(text)
    print(text)
