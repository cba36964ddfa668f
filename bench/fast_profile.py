"""Where a run's seconds go, from what its run directory recorded: set-up, BatchNorm adaptation, feature-cache passes,
each phase's epochs, the rest of training (checkpoints, phase changes), and the end-of-run test scoring.

    python bench/fast_profile.py RUN_DIR [RUN_DIR ...]     # e.g. bench/results/study-lite0/compare/runs/fast/seed-1

Reads config.json (results: seconds, wall_seconds, scoring_seconds), logs/training.log (the adapt_bn and feature-cache
lines) and logs/training_metrics.csv (seconds per epoch). Prints one markdown row per run and the mean.
"""
import json, re, sys
from pathlib import Path
import pandas as pd

def profile(run_dir) -> dict:
    d = Path(run_dir)
    res = json.loads((d/'config.json').read_text())['results']
    log = (d/'logs'/'training.log').read_text()
    secs = lambda pat: sum(float(x) for x in re.findall(pat, log))
    adapt = secs(r"adapt_bn: recomputed .*? \((\d+\.\d+)s\)")
    cache = secs(r"feature cache: computed .*? in (\d+\.\d+)s")
    h = pd.read_csv(d/'logs'/'training_metrics.csv')
    p = {f"phase {k} ({int((h.phase == k).sum())} ep)": float(h.seconds[h.phase == k].sum()) for k in sorted(h.phase.unique())}
    train = float(res['seconds'])
    row = dict(run=str(d), adapt_bn=adapt, cache=cache, **p)
    row['other training'] = train - adapt - cache - sum(p.values())
    row['training (done in)'] = train
    row['wall (run)'] = float(res.get('wall_seconds', train))
    row['test scoring (plain + flips)'] = float(res.get('scoring_seconds', 0))
    return row

if __name__ == '__main__':
    rows = pd.DataFrame([profile(r) for r in sys.argv[1:]])
    num = rows.drop(columns='run')
    rows = pd.concat([rows, pd.DataFrame([dict(run='mean', **num.mean().to_dict())])], ignore_index=True)
    cols = list(rows.columns)
    print('| ' + ' | '.join(cols) + ' |\n|' + '---|' * len(cols))
    for r in rows.itertuples(index=False):
        print('| ' + ' | '.join(str(v) if isinstance(v, str) else f"{v:.1f}" for v in r) + ' |')
