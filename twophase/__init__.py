"""Two-phase (progressive-unfreezing) transfer learning of ImageNet-pretrained ResNets, built on fastai

Modules:

- `twophase.cache`: Compute the outputs of the frozen layers once and train the rest on them: phase 1 on pooled backbone features, phase 2 on `layer3` outputs. Exact when training images get no random pixel augmentation; with augmentation, off (with a log line saying why) or, on request, K cached augmented views per image (an approximation).
- `twophase.distributed`: Several processes (GPUs, or CPU processes over gloo) through fastai's `distrib_ctx`, which runs DDP via Hugging Face `accelerate`: launch with `accelerate launch -m twophase.cli train ...` (or `torchrun`)."""

import warnings as _warnings

# fastai's layers call `torch.jit.script` as they are imported, which torch 2.14 deprecates with a FutureWarning ("is
# deprecated"; "is not supported" on Python 3.14+) that a user of twophase can do nothing about; that message (and
# nothing else) is silenced for every twophase import.
_warnings.filterwarnings('ignore', message='`torch.jit.script` is ', category=FutureWarning)

__version__ = "0.1.0"
