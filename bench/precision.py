"""fp32 against bf16 autocast on this CPU: the two passes `--fast` spends its time in, measured in one sitting.

- `frozen pass`: the whole ResNet-18 body forward in eval mode (the BatchNorm-adaptation, feature-cache and test passes)
- `layer4 step`: `layer4` + a 4-class head, forward + backward + AdamW step on cached `layer3` outputs (phase 2 of `--fast`)

    python bench/precision.py [--images 384] [--size 224] [--repeats 3]

Prints a markdown table (best of `--repeats`, seconds per pass over `--images` images). bf16 autocast is fast on CPUs
with AMX (Sapphire Rapids and newer); elsewhere expect it to be slower than fp32.
"""
import argparse, time, torch, torchvision
from torch import nn

def timed(f, repeats):
    f()  # warm-up: oneDNN picks its kernels on the first call
    ts = []
    for _ in range(repeats):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)

def frozen_pass(body, x, bs, bf16):
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(x), bs): body(x[i:i + bs])

def layer4_epoch(tail, opt, x, y, bs, bf16):
    for i in range(0, len(x), bs):
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            loss = nn.functional.cross_entropy(tail(x[i:i + bs]), y[i:i + bs])
        opt.zero_grad(); loss.backward(); opt.step()

def main(a):
    torch.manual_seed(0)
    m = torchvision.models.resnet18().to(memory_format=torch.channels_last)
    body = nn.Sequential(*list(m.children())[:-2]).eval()
    tail = nn.Sequential(m.layer4, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 4)).train()
    opt = torch.optim.AdamW(tail.parameters(), 1e-4)
    imgs = torch.randn(a.images, 3, a.size, a.size).contiguous(memory_format=torch.channels_last)
    feats = torch.randn(a.images, 256, a.size // 16, a.size // 16).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 4, (a.images,))
    amx = getattr(torch.cpu, '_is_amx_tile_supported', lambda: False)()
    print(f"{torch.get_num_threads()} threads, AMX: {amx}, {a.images} images at {a.size} px, bs {a.bs}\n")
    print("| pass | fp32 s | bf16 s | fp32 / bf16 |\n|---|---|---|---|")
    for name, f in (('frozen pass', lambda bf: frozen_pass(body, imgs, a.bs, bf)),
                    ('layer4 step', lambda bf: layer4_epoch(tail, opt, feats, y, a.bs, bf))):
        t32, t16 = timed(lambda: f(False), a.repeats), timed(lambda: f(True), a.repeats)
        print(f"| {name} | {t32:.2f} | {t16:.2f} | {t32 / t16:.2f} |")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--images', type=int, default=384); p.add_argument('--size', type=int, default=224)
    p.add_argument('--bs', type=int, default=32); p.add_argument('--repeats', type=int, default=3)
    main(p.parse_args())
