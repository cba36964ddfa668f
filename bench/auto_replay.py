"""What `--unfreeze auto` decides on runs that already exist: replays its rule on their phase-1 histories.

The default schedule's phase 1 (10 head-only epochs) is the same whether phase 2 is `auto` or `layer4`, so the
decision `auto` would take on a run of the old defaults follows from that run's `logs/training_metrics.csv` alone,
with no training. Prints one row per run: the best head-only validation accuracy, its margin to the threshold
(`twophase.phase.PROBE_OK`) and what phase 2 would train.

    python bench/auto_replay.py bench/results/gpu-study/study-*/two_phase/runs/*/seed-*
"""
import sys
from pathlib import Path
import pandas as pd
from twophase.phase import PROBE_OK, auto_train, two_phases

def decide(run:Path) -> dict:
    "The `auto` decision for phase 2 of the default schedule, from `run`'s phase-1 history"
    hist = pd.read_csv(run / 'logs' / 'training_metrics.csv').to_dict('records')
    head = [r['valid_accuracy'] for r in hist if r['phase'] == 1]
    train, why = auto_train(two_phases(unfreeze='auto'), 2, hist)
    return dict(run=str(run), head_epochs=len(head), best_head_valid=max(head), margin=max(head) - PROBE_OK,
                phase2=train)

if __name__ == '__main__':
    runs = [Path(p) for p in sys.argv[1:]]
    if not runs: sys.exit(__doc__)
    print(pd.DataFrame([decide(r) for r in runs]).to_string(index=False, float_format='{:.3f}'.format))
