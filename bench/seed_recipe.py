"""The seed recipe as a plain PyTorch/torchvision script: the baseline a user has today.

Phase 1 trains the seed head (Linear-ReLU-Dropout-Linear) on a frozen ResNet with Adam 1e-3; phase 2
unfreezes layer4 and trains it with the head with Adam 1e-4. bs 32, torchvision's usual transforms
(RandomResizedCrop + flip for training; resize + centre crop for validation), `model.train()` for
training epochs as a hand-written script does. `--test DIR` scores the last epoch's model on DIR. Run through `bench/run.py`, or alone:

    python bench/seed_recipe.py DATA WEIGHTS --size 224 --epochs1 10 --epochs2 30
    python bench/seed_recipe.py DATA efficientnet_lite0-imagenet.pth --arch efficientnet_lite0   # a timm body
    python bench/seed_recipe.py DATA WEIGHTS --device cuda --workers 4                              # on a GPU (fp32)

For a timm EfficientNet body, the stages after the last stride-16 one (the stride-32 blocks, `conv_head`, `bn2`)
play layer4; the normalisation comes from `--mean-std` or the weights file's sidecar NAME.json (mean = std = 0.5 for
the EfficientNet-Lite0 weights), as in twophase.
"""
import argparse, time
import torch, torchvision
from torch import nn
from torchvision import transforms as T
from common import Recorder, add_common_args, mean_std

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]  # set from --mean-std in run()

def eval_tfms(size):
    return T.Compose([T.Resize(int(size * 256 / 224)), T.CenterCrop(size), T.ToTensor(), T.Normalize(MEAN, STD)])

def loaders(data, size, bs, workers):
    tr = T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(MEAN, STD)])
    tds, vds = torchvision.datasets.ImageFolder(f'{data}/train', tr), torchvision.datasets.ImageFolder(f'{data}/valid', eval_tfms(size))
    return (torch.utils.data.DataLoader(tds, bs, shuffle=True, num_workers=workers, drop_last=True),
            torch.utils.data.DataLoader(vds, bs * 2, num_workers=workers), len(tds.classes))

def seed_head(n_in, n): return nn.Sequential(nn.Linear(n_in, 512), nn.ReLU(), nn.Dropout(0.3), nn.Linear(512, n))

def model_for(weights, n):
    "(torchvision ResNet-18 with the seed head as `fc`, [head], [layer4, head])"
    m = torchvision.models.resnet18(weights=None)
    sd = {k: v for k, v in torch.load(weights, map_location='cpu', weights_only=True).items() if not k.startswith('fc.')}
    m.load_state_dict(sd, strict=False)
    m.fc = seed_head(512, n)
    return m, [m.fc], [m.layer4, m.fc]

def timm_model_for(arch, weights, n):
    "(timm EfficientNet body + seed head, [head], [stride-32 stages + conv_head + bn2, head])"
    import timm
    body = timm.create_model(arch, pretrained=False, num_classes=0)
    missing, unexpected = body.load_state_dict(torch.load(weights, map_location='cpu', weights_only=True), strict=False)
    if unexpected or [k for k in missing if not k.startswith('classifier.')]: raise SystemExit(f"{weights} does not fit {arch}: {missing[:5]} {unexpected[:5]}")
    last16 = int([f['module'] for f in body.feature_info if f['reduction'] == 16][-1].split('.')[1])  # e.g. blocks.4
    last = [body.blocks[i] for i in range(last16 + 1, len(body.blocks))] + [body.conv_head, body.bn2]
    head = seed_head(body.num_features, n)
    return nn.Sequential(body, head), [head], last + [head]

def evaluate(m, dl, cl, device='cpu'):
    m.eval(); ok = n = 0
    with torch.no_grad():
        for x, y in dl:
            x, y = x.to(device), y.to(device)
            if cl: x = x.contiguous(memory_format=torch.channels_last)
            ok += (m(x).argmax(1) == y).sum().item(); n += len(y)
    return ok / n

def run(a, rec):
    global MEAN, STD
    MEAN, STD = (list(x) for x in mean_std(a))
    tdl, vdl, n = loaders(a.data, a.size, a.bs, a.workers)
    m, head, last = model_for(a.weights, n) if a.arch == 'resnet18' else timm_model_for(a.arch, a.weights, n)
    m = m.to(a.device)
    if a.channels_last: m = m.to(memory_format=torch.channels_last)
    loss_fn = nn.CrossEntropyLoss()
    for p in m.parameters(): p.requires_grad = False
    for phase, (epochs, lr, parts) in enumerate([(a.epochs1, 1e-3, head), (a.epochs2, 1e-4, last)], 1):
        ps = [p for part in parts for p in part.parameters()]
        for p in ps: p.requires_grad = True
        opt = torch.optim.Adam(ps, lr=lr)
        for ep in range(epochs):
            rec.start_epoch(); m.train(); seen = 0
            for x, y in tdl:
                x, y = x.to(a.device), y.to(a.device)
                if a.channels_last: x = x.contiguous(memory_format=torch.channels_last)
                loss = loss_fn(m(x), y)
                opt.zero_grad(); loss.backward(); opt.step(); seen += len(y)
            rec.end_epoch(phase, seen, evaluate(m, vdl, a.channels_last, a.device))
    if a.test:  # the model the script hands over: its last epoch (a plain script does no model selection)
        tds = torchvision.datasets.ImageFolder(a.test, eval_tfms(a.size))
        if tds.classes != tdl.dataset.classes: raise SystemExit(f"--test classes {tds.classes} differ from training's {tdl.dataset.classes}")
        rec.note(test_acc=evaluate(m, torch.utils.data.DataLoader(tds, a.bs * 2, num_workers=a.workers), a.channels_last, a.device),
                 n_test=len(tds))

if __name__ == '__main__':
    p = add_common_args(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    a = p.parse_args()
    with Recorder('seed_recipe', a) as rec: run(a, rec)
