"""Each backbone's own normalisation (issue 24, item 1): a run with the ImageNet EfficientNet-Lite0 weights (trained on
pixels scaled to [-1, 1]; its sidecar NAME.json says mean = std = 0.5) records that normalisation in config.json, and
the run, its export (`predict`), `serve` and its ONNX model (RGB in [0, 1]) give the same probabilities on one image."""
import json
import numpy as np, torch, pytest
from conftest import DATA, SHARED, twophase

LITE0 = SHARED/'weights'/'efficientnet_lite0-imagenet.pth'
HALF = ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))

@pytest.fixture(scope='module')
def lite0_run(tmp_path_factory):
    pytest.importorskip('timm')
    out = tmp_path_factory.mktemp('norm')/'run'
    r = twophase('train', DATA, '--arch', 'efficientnet_lite0', '--weights', LITE0, '--size', 64, '--bs', 32,
                 '--epochs1', 1, '--epochs2', 1, '--no-report', '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    return out

def test_config_records_the_sidecar_normalisation(lite0_run):
    rec = json.loads((lite0_run/'config.json').read_text())
    ms = rec['mean_std_resolved']
    assert (ms['mean'], ms['std']) == ([0.5] * 3, [0.5] * 3) and ms['source'].endswith('efficientnet_lite0-imagenet.json'), ms
    assert rec['config']['mean_std'] == 'auto'
    log = (lite0_run/'logs'/'training.log').read_text()
    assert 'normalisation: mean (0.5, 0.5, 0.5), std (0.5, 0.5, 0.5), ' in log, log[:3000]

def test_run_export_serve_and_onnx_agree(lite0_run, tmp_path):
    from twophase.plots import load_run
    from twophase.data import norm_stats
    from twophase.metrics import get_probs
    from twophase.predict import Deployable
    from twophase.serve import classify
    from twophase.knobs import IMAGENET_STATS
    learn = load_run(lite0_run, with_data=False)  # the exported learner, as predict/evaluate/serve load it
    assert tuple(tuple(round(x, 6) for x in s) for s in norm_stats(learn.dls)) == HALF
    img = sorted((DATA/'valid'/'tench').iterdir())[0]
    probs = get_probs(learn, learn.dls.test_dl([img], num_workers=0))[0][0].float()
    # the same image as RGB in [0, 1], undoing the normalisation by hand with the sidecar's numbers
    xb = learn.dls.test_dl([img], num_workers=0).one_batch()[0].as_subclass(torch.Tensor).float().cpu()
    x01 = xb * 0.5 + 0.5
    assert x01.min() >= -1e-5 and x01.max() <= 1 + 1e-5 and x01.std() > 0.05
    # predict (the CLI, through export.pkl)
    r = twophase('predict', lite0_run, img)
    assert r.returncode == 0, r.stderr[-2000:]
    row = (lite0_run/'predictions.csv').read_text().splitlines()[1]
    top = dict(kv.split(':') for kv in row.split(',')[-1].split())
    vocab = list(learn.dls.vocab)
    for c, p in top.items(): assert abs(float(p) - float(probs[vocab.index(c)])) < 2e-3, (top, probs)
    # serve's classifier
    served, _ = classify(learn, img, k=4)
    for c, p in served.items(): assert abs(p - float(probs[vocab.index(c)])) < 1e-4, (served, probs)
    # the ONNX model: RGB [0, 1] in, probabilities out
    r = twophase('export', lite0_run, '--onnx')
    assert r.returncode == 0 and "normalisation (mean (0.5, 0.5, 0.5), std (0.5, 0.5, 0.5)) is inside the model" in r.stdout, r.stdout + r.stderr[-2000:]
    import onnxruntime as ort
    sess = ort.InferenceSession(str(lite0_run/'model.onnx'), providers=['CPUExecutionProvider'])
    onnx_probs = sess.run(None, {'image': x01.numpy()})[0][0]
    np.testing.assert_allclose(onnx_probs, probs.numpy(), atol=1e-4)
    # and the test can fail: ImageNet's statistics give this model other probabilities
    with torch.no_grad(): wrong = Deployable(learn.model.float().cpu().eval(), IMAGENET_STATS)(x01)[0]
    assert (wrong - probs).abs().max() > 1e-3, (wrong, probs)

def test_evaluate_names_the_files_it_skips(lite0_run):
    "`evaluate --data` lists every unreadable file it leaves out, as `train --test` counts them (issue 25)"
    test = SHARED/'data'/'imagenette4-test'
    r = twophase('evaluate', lite0_run, '--data', test)
    assert r.returncode == 0, r.stderr[-2000:]
    skipped = [l for l in r.stderr.splitlines() if l.startswith('skipped ')]
    assert skipped and all(str(test) in l for l in skipped), r.stderr[-2000:]
    assert f"{len(skipped)} file(s) skipped, listed above" in r.stdout, r.stdout

def test_mean_std_option_overrides_and_is_checked(tmp_path):
    r = twophase('train', DATA, '--mean-std', '0.5,0.5/0.5,0.5,0.5', '--weights', 'none', '--out', tmp_path/'r')
    assert r.returncode == 2 and 'has 2 means and 3 standard deviations' in r.stderr and 'Traceback' not in r.stderr, r.stderr[-2000:]
