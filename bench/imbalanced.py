"""Make an imbalanced copy of a split dataset out of symbolic links (no image is copied): every class keeps its
validation images, and the training images of `--minority` are cut to the first `--n` (sorted by name).

    python bench/imbalanced.py ../shared/data/imagenette4 /tmp/imagenette4-imb --minority tench --n 10
    twophase compare /tmp/imagenette4-imb --recipes cw_none,cw_auto,sampler_balanced \\
        --recipe cw_none="--class-weights none" --recipe cw_auto="--class-weights auto" \\
        --recipe sampler_balanced="--sampler balanced" --seeds 3 --test ../shared/data/imagenette4-test \\
        --score balanced_accuracy --preset fast --reference cw_none --out bench/results/imbalance
"""
import argparse, shutil
from pathlib import Path

def make(src:Path, dst:Path, minority:str, n:int):
    if dst.exists(): shutil.rmtree(dst)
    for split in ('train', 'valid'):
        for cls in sorted(p for p in (src/split).iterdir() if p.is_dir()):
            files = sorted(f for f in cls.iterdir() if f.is_file())
            if split == 'train' and cls.name == minority: files = files[:n]
            (dst/split/cls.name).mkdir(parents=True)
            for f in files: (dst/split/cls.name/f.name).symlink_to(f.resolve())
    return {c.name: len(list(c.iterdir())) for c in sorted((dst/'train').iterdir())}

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('src'); p.add_argument('dst')
    p.add_argument('--minority', default='tench'); p.add_argument('--n', type=int, default=10)
    a = p.parse_args()
    print(f"{a.dst}: training images per class {make(Path(a.src), Path(a.dst), a.minority, a.n)}")
