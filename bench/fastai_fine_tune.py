"""fastai's own recipe: `vision_learner` + `fine_tune(epochs2, freeze_epochs=epochs1)` (same total epochs).

fastai's default head and base_lr, `RandomResizedCrop(size, min_scale=0.75)` + flips, ImageNet
normalisation, the same backbone weights. Run through `bench/run.py`, or alone:

    python bench/fastai_fine_tune.py DATA WEIGHTS --size 224 --epochs1 10 --epochs2 30
"""
import argparse
import torch
from fastai.vision.all import (ImageDataLoaders, RandomResizedCrop, Flip, Normalize, imagenet_stats, vision_learner,
                               resnet18, accuracy, Callback, set_seed)
from twophase.model import read_state_dict, tv_to_body_key
from twophase.metrics import score_folder
from common import Recorder, add_common_args

class Epochs(Callback):
    "Report each epoch to the recorder; `fine_tune`'s first fit is phase 1, the second phase 2"
    order = 100
    def __init__(self, rec): self.rec, self.phase = rec, 0
    def before_fit(self):
        if not hasattr(self.learn, 'lr_finder'): self.phase += 1
    def before_epoch(self): self.rec.start_epoch()
    def after_epoch(self):
        self.rec.end_epoch(self.phase, len(self.dls.train) * self.dls.train.bs, self.learn.recorder.values[-1][-1])

def run(a, rec):
    set_seed(a.seed)
    dls = ImageDataLoaders.from_folder(a.data, valid='valid', item_tfms=RandomResizedCrop(a.size, min_scale=0.75),
                                       batch_tfms=[Flip(), Normalize.from_stats(*imagenet_stats)], bs=a.bs, num_workers=a.workers)
    learn = vision_learner(dls, resnet18, pretrained=False, metrics=accuracy)
    body = learn.model[0]
    body.load_state_dict({tv_to_body_key(k): v for k, v in read_state_dict(a.weights).items() if not k.startswith('fc.')})
    if a.channels_last: learn.model.to(memory_format=torch.channels_last)
    learn.add_cb(ep := Epochs(rec))
    with learn.no_bar(), learn.no_logging(): learn.fine_tune(a.epochs2, freeze_epochs=a.epochs1)
    learn.remove_cb(ep)  # scoring below runs validation epochs: they are no training epochs
    if a.test:  # fine_tune hands over its last epoch
        ev = score_folder(learn, a.test)
        rec.note(test_acc=ev['top1'], n_test=ev['n'])

if __name__ == '__main__':
    a = add_common_args(argparse.ArgumentParser(description=__doc__.splitlines()[0])).parse_args()
    if a.arch != 'resnet18': raise SystemExit('fastai_fine_tune.py runs resnet18 only (twophase compare --recipes fine_tune runs any backbone)')
    with Recorder('fastai_fine_tune', a) as rec: run(a, rec)
