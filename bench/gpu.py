"""GPU benchmark (run when a GPU is available; not part of CI): ResNet-50 phase 2 (layer4 + head trained) at 224 px,
images/s of twophase's learner vs a raw PyTorch AMP channels-last loop, per precision; plus seconds per epoch of
each phase of a real twophase run if --data is given.

    python bench/gpu.py                                   # fp16 and bf16 on cuda, 100 timed steps each
    python bench/gpu.py --data DATA --weights FILE.pth     # also time one epoch of each phase on real images
    python bench/gpu.py --device cpu --precision fp32 --steps 3 --size 64 --bs 8   # smoke test without a GPU

Both loops train on the same synthetic batches already on the device, so the table compares the training
loops themselves (fastai callbacks, mixed precision, BatchNorm freezing) and not data loading.
"""
import argparse, time
import torch
from torch import nn
from fastai.vision.all import DataLoaders, DataLoader, Learner
from twophase.model import two_phase_model, two_phase_splitter, apply_precision
from twophase.phase import Phase, apply_phase

def synthetic(n, size, n_classes, device):
    g = torch.Generator().manual_seed(0)
    return torch.randn(n, 3, size, size, generator=g).to(device), torch.randint(0, n_classes, (n,), generator=g).to(device)

def raw_loop(x, y, a, dtype):
    "Raw PyTorch: AMP autocast + GradScaler (fp16), channels-last, layer4 + head trainable"
    m = two_phase_model(a.classes, 'resnet50', weights=None).to(a.device).to(memory_format=torch.channels_last)
    for p in m.parameters(): p.requires_grad = False
    for p in list(m[0][7].parameters()) + list(m[1].parameters()): p.requires_grad = True
    m.train()
    for mod in m[0][:7].modules():
        if isinstance(mod, nn.BatchNorm2d): mod.eval()
    opt = torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-4)
    use_amp = dtype is not None
    scaler = torch.amp.GradScaler(a.device, enabled=dtype == torch.float16)
    loss_fn = nn.CrossEntropyLoss()
    def step(i):
        xb = x[i * a.bs % len(x):][:a.bs].contiguous(memory_format=torch.channels_last); yb = y[i * a.bs % len(y):][:a.bs]
        with torch.autocast(a.device, dtype=dtype or torch.float32, enabled=use_amp): loss = loss_fn(m(xb), yb)
        opt.zero_grad(set_to_none=True); scaler.scale(loss).backward(); scaler.step(opt); scaler.update()
    return timed(step, a)

def twophase_loop(x, y, a, precision):
    "twophase's Learner (fastai loop, BnFreeze, fastai mixed precision, channels-last) in phase 2"
    n = len(x) // a.bs * a.bs
    dl = DataLoader(list(zip(x[:n], y[:n])), bs=a.bs, shuffle=False, drop_last=True, device=a.device)
    dls = DataLoaders(dl, dl, device=a.device)
    m = two_phase_model(a.classes, 'resnet50', weights=None).to(memory_format=torch.channels_last)
    from fastai.vision.all import BnFreeze, CrossEntropyLossFlat, Adam
    learn = Learner(dls, m, loss_func=CrossEntropyLossFlat(), opt_func=Adam, splitter=two_phase_splitter, cbs=[BnFreeze()],
                    train_bn=False)
    learn.model.to(a.device)
    apply_precision(learn, precision, device=a.device)
    apply_phase(learn, Phase('layer4', 'layer4'))
    steps = a.warmup + a.steps
    epochs = max(1, -(-steps // len(dl)))
    t = {}
    from fastai.callback.core import Callback
    class Timer(Callback):
        def __init__(self): self.i = 0
        def before_batch(self):
            if self.training and self.i == a.warmup:
                if a.device == 'cuda': torch.cuda.synchronize()
                t['start'] = time.perf_counter()
        def after_batch(self):
            if not self.training: return
            self.i += 1
            if self.i == steps:
                if a.device == 'cuda': torch.cuda.synchronize()
                t['secs'] = time.perf_counter() - t['start']; raise __import__('fastai').callback.core.CancelFitException()
    with learn.no_bar(), learn.no_logging(): learn.fit(epochs, 1e-4, cbs=[Timer()])
    return a.steps * a.bs / t['secs']

def timed(step, a):
    for i in range(a.warmup): step(i)
    if a.device == 'cuda': torch.cuda.synchronize()
    t0 = time.perf_counter()
    for i in range(a.steps): step(a.warmup + i)
    if a.device == 'cuda': torch.cuda.synchronize()
    return a.steps * a.bs / (time.perf_counter() - t0)

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog='\n'.join(__doc__.splitlines()[2:]))
    p.add_argument('--device', default='cuda'); p.add_argument('--precision', default='fp16,bf16')
    p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=128)
    p.add_argument('--steps', type=int, default=100); p.add_argument('--warmup', type=int, default=10)
    p.add_argument('--classes', type=int, default=100)
    p.add_argument('--data', help='also time one epoch of each phase on this dataset'); p.add_argument('--weights', default='DEFAULT')
    p.add_argument('--workers', type=int, help='DataLoader workers for --data (default: twophase default)')
    a = p.parse_args()
    if a.device == 'cuda' and not torch.cuda.is_available(): raise SystemExit("no CUDA GPU here; use --device cpu for a smoke test")
    torch.backends.cudnn.benchmark = True
    x, y = synthetic(a.bs * 4, a.size, a.classes, a.device)
    dev = torch.cuda.get_device_name() if a.device == 'cuda' else 'cpu'
    print(f"ResNet-50 phase 2 (layer4 + head), {a.size} px, bs {a.bs}, {a.steps} timed steps after {a.warmup} warm-up | {dev}\n")
    print("| precision | raw PyTorch img/s | twophase img/s | twophase / raw |\n|---|---:|---:|---:|")
    for prec in a.precision.split(','):
        if prec == 'bf16' and a.device == 'cuda' and not torch.cuda.is_bf16_supported():
            print(f"| bf16 | — | — | not supported on {dev} |"); continue
        dtype = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}[prec]
        raw = raw_loop(x, y, a, dtype)
        ours = twophase_loop(x, y, a, prec)
        print(f"| {prec} | {raw:.0f} | {ours:.0f} | {ours / raw:.1%} |", flush=True)
    if a.data: epoch_times(a)

def epoch_times(a):
    "Seconds per epoch of each phase of a real twophase run (ResNet-50, 1+1 epochs) per precision"
    from twophase.config import make_config
    from twophase.data import dls_from_config
    from twophase.model import learner_from_config
    from twophase.fit import fit_from_config
    from twophase.runlog import RunLog
    print(f"\nreal data: {a.data}\n\n| precision | phase 1 s/epoch | phase 2 s/epoch |\n|---|---:|---:|")
    for prec in a.precision.split(','):
        cfg = make_config(data=a.data, weights=a.weights, arch='resnet50', size=a.size, bs=a.bs, epochs1=1, epochs2=1,
                          precision=prec, check='off', num_workers=a.workers)
        learn = learner_from_config(cfg, dls_from_config(cfg))
        with learn.no_bar(), learn.no_logging(): h = fit_from_config(learn, cfg, log=RunLog(echo=False))
        print(f"| {prec} | {h.seconds.iloc[0]:.1f} | {h.seconds.iloc[1]:.1f} |", flush=True)

if __name__ == '__main__': main()
