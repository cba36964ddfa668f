"Shared bits of the benchmark scripts: arguments, a per-epoch recorder that prints JSON lines, peak RSS"
import contextlib, json, resource, sys, time, torch

def add_common_args(p):
    p.add_argument('data'); p.add_argument('weights')
    p.add_argument('--size', type=int, default=224); p.add_argument('--bs', type=int, default=32)
    p.add_argument('--epochs1', type=int, default=10); p.add_argument('--epochs2', type=int, default=30)
    p.add_argument('--workers', type=int, default=0); p.add_argument('--channels-last', action='store_true')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--test', help='folder of class folders: score the model the method hands over on it')
    p.add_argument('--arch', default='resnet18', help='resnet18, or a timm model (e.g. efficientnet_lite0) whose weights file has no classifier')
    p.add_argument('--mean-std', default='auto', help="input normalisation: auto (NAME.json beside the weights file, else ImageNet's), "
                   "imagenet, half, or R,G,B/R,G,B")
    p.add_argument('--device', default='cpu', help='cpu (default) or cuda: where the plain script trains (fp32 either way)')
    return p

def mean_std(a) -> tuple:
    "(mean, std) for `a.mean_std`, read as twophase reads `--mean-std` (auto: the sidecar NAME.json of the weights file)"
    from twophase.weights import weights_mean_std
    return weights_mean_std(a.arch, a.weights, a.mean_std)[:2]

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB

class Recorder:
    "Prints one JSON line per epoch (and one at the end) with wall times counted from the method's start"
    def __init__(self, method, args):
        self.method, self.args, self.t0, self.epoch, self.extra = method, args, None, 0, 0.0
    def __enter__(self):
        torch.manual_seed(self.args.seed)
        self.t0 = time.perf_counter(); return self
    def emit(self, **kw): print('BENCH ' + json.dumps(dict(method=self.method, **kw)), flush=True)
    def start_epoch(self): self.te = time.perf_counter()
    def end_epoch(self, phase, n_train, valid_acc, secs=None):
        now = time.perf_counter(); self.epoch += 1
        self.emit(kind='epoch', phase=phase, epoch=self.epoch, secs=secs if secs is not None else now - self.te,
                  t=now - self.t0, n_train=n_train, valid_acc=float(valid_acc))
    def note(self, **kw): self.emit(kind='note', t=time.perf_counter() - self.t0, **kw)
    @contextlib.contextmanager
    def outside(self):
        "Time spent in the block (a measurement the method itself would not make) is left out of the wall time"
        t = time.perf_counter()
        try: yield
        finally: self.extra += time.perf_counter() - t
    def __exit__(self, typ, *_):
        if typ is None: self.emit(kind='end', wall=time.perf_counter() - self.t0 - self.extra, extra_secs=self.extra, peak_rss_mb=peak_rss_mb(),
                                  threads=torch.get_num_threads())
