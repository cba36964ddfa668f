"""Any backbone through timm (issue 15, item 3): stage-wise phases on two families (a ConvNeXt, with LayerNorms only,
and an EfficientNet, with BatchNorms), BatchNorm/LayerNorm semantics of the frozen stages, Grad-CAM through the
`grad-cam` package, the feature cache on a timm body, a `twophase` CLI run end to end, and `import twophase`
without timm. timm's `test_*` models: tiny (0.3M parameters), random init, so nothing is downloaded."""
import json, os, subprocess, sys
import pytest
import torch
from conftest import DATA, twophase

timm = pytest.importorskip('timm')
from fastai.vision.all import Learner
from twophase.data import get_dls
from twophase.model import two_phase_learner, group_names
from twophase.phase import Phase, apply_phase
from twophase.fit import fit_phase, two_phase_fit
from twophase.plots import gradcam
from twophase.runlog import RunLog

FAMILIES = ['test_convnext', 'test_efficientnet']

@pytest.fixture(scope='module')
def dls():
    from fastai.torch_core import set_seed
    set_seed(0)  # the DataLoaders' shuffling RNG is drawn at creation: the same whatever ran before in this process
    return get_dls(DATA, size=64, bs=32, aug=False, subset_pct=25)

def snapshot(module): return {k: v.detach().clone() for k, v in module.state_dict().items()}
def same(a, b): return [k for k in a if torch.equal(a[k], b[k])]
def is_stat(k): return k.endswith(('running_mean', 'running_var', 'num_batches_tracked'))

def train(learn:Learner, phase:Phase):
    apply_phase(learn, phase)
    with learn.no_bar(), learn.no_logging(): fit_phase(learn, phase)

@pytest.mark.parametrize('arch', FAMILIES)
def test_phases_freeze_and_train_by_stage(dls, arch):
    "Phase 1 leaves every body tensor bit-identical (bn='frozen'); phase `last` changes the last stage and nothing below it"
    torch.manual_seed(0)
    learn = two_phase_learner(dls, arch=arch, weights=None, bn='frozen')
    body, head = learn.model
    assert len(body) == 3 and group_names(learn.model)[2].startswith(('stages.3', 'blocks.4'))
    b0, h0 = snapshot(body), snapshot(head)
    train(learn, Phase('head', 'head', epochs=1, lr=1e-2))
    b1, h1 = snapshot(body), snapshot(head)
    assert same(b0, b1) == list(b0), "phase 1 changed a body tensor"
    assert len(same(h0, h1)) < len(h0), "phase 1 did not train the head"
    before = [snapshot(p) for p in body]
    train(learn, Phase('last', 'last', epochs=1, lr=1e-2))
    parts = [snapshot(p) for p in body]
    assert same(before[0], parts[0]) == list(parts[0]) and same(before[1], parts[1]) == list(parts[1]), "below the last stage changed"
    changed = [k for k in parts[2] if not is_stat(k) and not torch.equal(before[2][k], parts[2][k])]
    assert len(changed) >= 0.9 * sum(not is_stat(k) for k in parts[2]), f"the last stage barely trained: {len(changed)} tensors"

def test_batchnorm_and_layernorm_semantics(dls):
    """bn='stats' (the default): frozen weights stay, BatchNorm running statistics follow the data (EfficientNet); a
    ConvNeXt has no running statistics, so its frozen body stays bit-identical. bn='train': norm weights of frozen
    stages train (fastai's train_bn), BatchNorm and LayerNorm alike; convolutions stay."""
    torch.manual_seed(0)
    eff = two_phase_learner(dls, arch='test_efficientnet', weights=None)
    b0 = snapshot(eff.model[0]); train(eff, Phase('head', epochs=1, lr=1e-2)); b1 = snapshot(eff.model[0])
    moved = {k for k in b0 if not torch.equal(b0[k], b1[k])}
    assert moved and all(is_stat(k) for k in moved), sorted(moved)[:5]
    cnx = two_phase_learner(dls, arch='test_convnext', weights=None)
    c0 = snapshot(cnx.model[0]); train(cnx, Phase('head', epochs=1, lr=1e-2))
    assert same(c0, snapshot(cnx.model[0])) == list(c0)
    for arch, norm in (('test_convnext', torch.nn.LayerNorm), ('test_efficientnet', torch.nn.BatchNorm2d)):
        learn = two_phase_learner(dls, arch=arch, weights=None, bn='train')
        early = learn.model[0][0]
        norms = {n for n, m in early.named_modules() if isinstance(m, norm)}
        s0 = snapshot(early); train(learn, Phase('head', epochs=1, lr=1e-2)); s1 = snapshot(early)
        moved = {k for k in s0 if not is_stat(k) and not torch.equal(s0[k], s1[k])}
        assert moved and all(k.rsplit('.', 1)[0] in norms for k in moved), (arch, sorted(moved)[:5])

@pytest.mark.parametrize('arch', FAMILIES)
def test_gradcam_maps_on_timm(dls, arch):
    torch.manual_seed(0)
    learn = two_phase_learner(dls, arch=arch, weights=None)
    train(learn, Phase('head', epochs=1, lr=1e-2))
    xb, _ = dls.valid.one_batch()
    was = [m.training for m in learn.model.modules()]
    maps, logits = gradcam(learn.model, xb[:4].as_subclass(torch.Tensor))
    assert maps.shape == (4, 64, 64) and logits.shape == (4, len(dls.vocab))
    assert bool((maps.flatten(1).std(1) > 0.01).all()) and float(maps.min()) >= 0 and float(maps.max()) <= 1
    assert [m.training for m in learn.model.modules()] == was  # train/eval flags restored
    assert all(p.grad is None for p in learn.model.parameters())

def test_feature_cache_is_exact_on_convnext():
    "A ConvNeXt's frozen stages have no BatchNorm: the cache is exact even with bn='stats' (losses as on images)"
    def run(cache):
        torch.manual_seed(0)
        learn = two_phase_learner(get_dls(DATA, size=32, bs=64, aug=False), arch='test_convnext', weights=None)
        log = RunLog(echo=False, keep=True)
        with learn.no_bar(), learn.no_logging(): hist = two_phase_fit(learn, epochs1=1, epochs2=1, cache=cache, log=log)
        return hist, log.lines
    h0, _ = run(False)
    h1, lines = run(True)
    assert any("feature cache: computed backbone outputs (the model's pooling and final norm train with the head), second-to-last stage outputs" in l for l in lines), lines
    assert not any('feature cache off' in l for l in lines), lines
    assert max(abs(a - b) for a, b in zip(h0.valid_loss, h1.valid_loss)) < 1e-4
    assert any("trains stages.3..norm_pre + head" in l for l in lines), [l for l in lines if 'Phase' in l]

def test_cli_run_with_timm_model_end_to_end(tmp_path):
    out = tmp_path/'run'
    r = twophase('train', DATA, '--arch', 'test_efficientnet', '--weights', 'none', '--size', 64, '--bs', 32,
                 '--epochs1', 1, '--epochs2', 1, '--unfreeze', 'last', '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    log = (out/'logs'/'training.log').read_text()
    assert 'model: test_efficientnet, weights=None' in log and 'trains blocks.4..bn2 + head' in log, log[:3000]
    assert (out/'report'/'gradcam.png').stat().st_size > 10_000 and 'Grad-CAM' in (out/'report'/'report.md').read_text()
    img = next((DATA/'valid'/'tench').iterdir())
    r = twophase('predict', out, img)
    assert r.returncode == 0 and img.name in r.stdout, r.stderr[-2000:]
    r = twophase('export', out, '--onnx')
    assert r.returncode == 0, r.stderr[-2000:]
    assert (out/'model.onnx').stat().st_size > 100_000, r.stdout
    assert float(r.stdout.split('max abs diff ')[1].split()[0]) < 1e-4, r.stdout
    assert json.loads((out/'config.json').read_text())['config']['arch'] == 'test_efficientnet'

def test_timm_names_are_checked_with_the_fix(tmp_path):
    r = twophase('train', DATA, '--arch', 'convnxt_tiny', '--out', tmp_path/'r')
    assert r.returncode == 2 and "unknown model 'convnxt_tiny'" in r.stderr and 'convnext_tiny' in r.stderr, r.stderr[-2000:]
    r = twophase('train', DATA, '--arch', 'test_vit', '--weights', 'none', '--size', 32, '--out', tmp_path/'v')
    assert r.returncode == 2 and 'vision transformers are not supported yet' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]

def test_import_twophase_without_timm():
    "With timm unimportable, twophase imports, ResNets configure, and a timm name gives the install command"
    code = ("import sys; sys.modules['timm'] = None\n"
            "import twophase, twophase.cli, twophase.train, twophase.interpret\n"
            "from twophase.config import TwoPhaseConfig\n"
            "TwoPhaseConfig(arch='resnet50')\n"
            "try: TwoPhaseConfig(arch='convnext_tiny')\n"
            "except ValueError as e: print(e)\n"
            "print('timm' in sys.modules and sys.modules['timm'] is not None)")
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "pip install 'twophase[timm]'" in r.stdout and r.stdout.strip().endswith('False'), r.stdout
