"""twophase itself: `progressive_fit` on the config's two phases, with the defaults or a preset (e.g. fast).

Built from a `TwoPhaseConfig` exactly as `twophase train` does (data, learner, phases, feature cache),
without the dataset check, run directory and report. Run through `bench/run.py`, or alone:

    python bench/twophase_fit.py DATA WEIGHTS --size 224 --epochs1 10 --epochs2 30
    python bench/twophase_fit.py DATA WEIGHTS --size 224 --preset fast
"""
import argparse
from fastai.vision.all import Callback
from twophase.config import make_config
from twophase.data import dls_from_config
from twophase.model import learner_from_config
from twophase.fit import fit_from_config
from twophase.runlog import RunLog
from twophase.metrics import score_folder
from common import Recorder, add_common_args

class Epochs(Callback):
    "Report each epoch to the recorder"
    order = 100
    def __init__(self, rec): self.rec = rec
    def before_epoch(self): self.rec.start_epoch()
    def after_epoch(self):
        h = self.learn.history[-1] if getattr(self.learn, 'history', None) else None
        if h is None or not getattr(self.learn, 'epoch_logged', True): return
        self.rec.end_epoch(h['phase'], len(self.dls.train) * self.dls.train.bs, h['valid_accuracy'])

def run(a, rec):
    given = dict(epochs1=a.epochs1, epochs2=a.epochs2) if not a.preset or a.epochs_given else {}
    old = (dict(bn='frozen', load_best=True, min_scale=0.75, lr_div=3.0, schedule='one_cycle') if a.old_defaults
           else {})  # twophase's defaults before the 2026-11-30 study
    cfg = make_config(a.preset, data=a.data, weights=a.weights, arch=a.arch, mean_std=a.mean_std, size=a.size, bs=a.bs, num_workers=a.workers,
                      seed=a.seed, **given, **old, **({'channels_last': False} if a.no_channels_last else {}),
                      **({'precision': a.precision} if a.precision else {}))
    rec.note(config={k: getattr(cfg, k) for k in ('epochs1', 'epochs2', 'size1', 'size', 'aug', 'cache', 'cache_views',
                                                  'channels_last', 'lr1', 'lr2', 'schedule', 'preset', 'precision')})
    learn = learner_from_config(cfg, dls_from_config(cfg))
    learn.add_cb(ep := Epochs(rec))
    with learn.no_bar(), learn.no_logging(): fit_from_config(learn, cfg, log=RunLog(echo=True))
    learn.remove_cb(ep)  # scoring below runs validation epochs: they are no training epochs
    if a.test:  # the model the run hands over (best or last epoch, as the config says)
        ev = score_folder(learn, a.test)
        with rec.outside(): flip = score_folder(learn, a.test, tta='flip')['top1']  # an extra the seed script does not do
        rec.note(test_acc=ev['top1'], n_test=ev['n'], test_flip_acc=flip)
    fc = getattr(learn, 'feature_cache', None)
    if fc is not None: rec.note(cache_seconds=fc.seconds_total)

if __name__ == '__main__':
    p = add_common_args(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    p.add_argument('--preset'); p.add_argument('--epochs-given', action='store_true', help='with --preset: keep --epochs1/2')
    p.add_argument('--no-channels-last', action='store_true')
    p.add_argument('--precision', help='fp32, bf16, fp16 or auto (default: the config\'s or preset\'s)')
    p.add_argument('--old-defaults', action='store_true', help='the defaults before the 2026-11-30 study: BatchNorm frozen, layer4 at lr2/3, one-cycle, 75-100%% crops, best epoch handed over')
    a = p.parse_args()
    with Recorder('twophase_' + (a.preset or 'defaults'), a) as rec: run(a, rec)
