"""Two-phase (progressive-unfreezing) transfer learning of ImageNet-pretrained ResNets, built on fastai

Modules:

- `twophase.cache`: Compute the outputs of the frozen layers once and train the rest on them: phase 1 on pooled backbone features, phase 2 on `layer3` outputs. Exact when training images get no random pixel augmentation; with augmentation, off (with a log line saying why) or, on request, K cached augmented views per image (an approximation)."""

__version__ = "0.1.0"
