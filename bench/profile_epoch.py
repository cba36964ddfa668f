"""Where an epoch's time goes: torch.profiler over one phase-2 epoch (layer4 + head) at 224 px, with and
without the feature cache, top operators by self CPU time. Prints markdown tables.

    python bench/profile_epoch.py [--data DATA] [--weights FILE] [--size 224] [--rows 8]
"""
import argparse, os, time
from pathlib import Path
import torch
from torch.profiler import profile, ProfilerActivity
from twophase.config import make_config
from twophase.data import dls_from_config
from twophase.model import learner_from_config
from twophase.phase import Phase, apply_phase
from twophase.cache import FeatureCache

ROOT = Path(__file__).resolve().parents[1]

def table(prof, rows, total):
    ev = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:rows]
    out = ["| operator | self CPU s | share | calls |", "|---|---:|---:|---:|"]
    for e in ev: out.append(f"| {e.key} | {e.self_cpu_time_total / 1e6:.2f} | {e.self_cpu_time_total / 1e6 / total:.0%} | {e.count} |")
    return '\n'.join(out)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data', default=os.environ.get('TWOPHASE_DATA', str(ROOT.parent/'shared/data/imagenette4')))
    p.add_argument('--weights', default=os.environ.get('TWOPHASE_WEIGHTS', str(ROOT.parent/'shared/weights/resnet18-fixture.pth')))
    p.add_argument('--size', type=int, default=224); p.add_argument('--rows', type=int, default=8)
    a = p.parse_args()
    for cache in (False, True):
        cfg = make_config(data=a.data, weights=a.weights, size=a.size, aug=False)
        learn = learner_from_config(cfg, dls_from_config(cfg))
        ph = Phase('layer4', 'layer4', 1, 1e-4, lr_div=3)
        apply_phase(learn, ph)
        fc = FeatureCache()
        ctx = fc.phase(learn, ph, []) if cache else None
        if ctx: ctx.__enter__()
        with learn.no_bar(), learn.no_logging():
            learn.fit(1, 1e-4)  # warm-up epoch (oneDNN primitive caches)
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                t0 = time.perf_counter(); learn.fit(1, 1e-4); secs = time.perf_counter() - t0
        if ctx: ctx.__exit__(None, None, None)
        print(f"\n### phase-2 epoch {'on the feature cache' if cache else 'on images'}: {secs:.2f}s"
              + (f" (cache pass {fc.seconds:.1f}s, once)" if cache else '') + "\n")
        print(table(prof, a.rows, secs))

if __name__ == '__main__': main()
