"""The sweep: every `twophase` subcommand over a catalogue of bad inputs. Each must be refused with a non-zero exit
and a message that says what is wrong -- never a Python traceback, never exit 0 with a wrong result."""
import json, shutil
from pathlib import Path
import pytest
from conftest import DATA, WEIGHTS, twophase, twophase_forked

TINY = ['--weights', WEIGHTS, '--size', 32, '--bs', 2, '--epochs1', 1, '--epochs2', 1, '--check', 'off', '--no-report']

def copy_images(dst:Path, n:int, split='train', classes=('church', 'tench')):
    for c in classes:
        (dst/c).mkdir(parents=True, exist_ok=True)
        for f in sorted((DATA/split/c).iterdir())[:n]: shutil.copy(f, dst/c/f.name)
    return dst

@pytest.fixture(scope='module')
def w(tmp_path_factory):
    "A workspace: good and bad datasets, files, and one finished run"
    t = tmp_path_factory.mktemp('sweep')
    good = t/'good'; copy_images(good/'train', 4); copy_images(good/'valid', 2, 'valid')
    copy_images(t/'other_test', 2, 'valid', classes=('church', 'parachute'))
    (t/'file.txt').write_text('not a dataset'); (t/'empty').mkdir()
    (t/'loose').mkdir(); shutil.copy(next((DATA/'train'/'church').iterdir()), t/'loose'/'a.jpg')
    copy_images(t/'oneclass', 2, classes=('church',))
    copy_images(t/'twoval'/'train', 2); copy_images(t/'twoval'/'val', 1, 'valid'); copy_images(t/'twoval'/'validation', 1, 'valid')
    copy_images(t/'mixed'/'train', 2); copy_images(t/'mixed', 2, classes=('parachute',))
    copy_images(t/'valonly'/'val', 2, 'valid')
    copy_images(t/'emptyvalid'/'train', 2); (t/'emptyvalid'/'valid').mkdir()
    (t/'user').mkdir(); (t/'user'/'notes.txt').write_text('mine')
    (t/'bad.pth').write_text('not weights'); (t/'noimages').mkdir(); (t/'noimages'/'a.txt').write_text('x')
    (t/'csvdir').mkdir()
    (t/'badcfg').mkdir(); (t/'badcfg'/'config.json').write_text('{"config": {"lr1": 0.0')
    r = twophase('train', good, *TINY, '--out', t/'run')
    assert r.returncode == 0, r.stderr
    copy_images(t/'changed'/'train', 4); copy_images(t/'changed'/'valid', 2, 'valid')
    r = twophase('train', t/'changed', *TINY, '--out', t/'half', '--keep-checkpoints', 3)
    assert r.returncode == 0, r.stderr
    c = json.loads((t/'half'/'config.json').read_text()); c.pop('results')
    (t/'half'/'config.json').write_text(json.dumps(c)); (t/'half'/'export.pkl').unlink()
    for sp in ('train', 'valid'): (t/'changed'/sp/'tench').rename(t/'changed'/sp/'trout')
    copy_images(t/'validonly'/'train', 2); copy_images(t/'validonly'/'valid', 1, 'valid', classes=('church', 'tench', 'parachute'))
    return t

# (name, arguments with {t} for the workspace, text the error must contain)
CASES = [
    ('train: no such folder',        ['train', '{t}/nope', *TINY], 'does not exist'),
    ('train: DATA is a file',        ['train', '{t}/file.txt', *TINY], 'is a file'),
    ('train: empty folder',          ['train', '{t}/empty', *TINY], 'no sub-folders with images'),
    ('train: loose images',          ['train', '{t}/loose', *TINY], 'images directly in'),
    ('train: one class',             ['train', '{t}/oneclass', *TINY], 'only 1 class folder'),
    ('train: val/ and validation/',  ['train', '{t}/twoval', *TINY], 'two folders for the valid split'),
    ('train: split + class folders', ['train', '{t}/mixed', *TINY], 'mixes split folders'),
    ('train: val/ without train/',   ['train', '{t}/valonly', *TINY], 'no train/ folder'),
    ('train: empty valid/',          ['train', '{t}/emptyvalid', *TINY], 'has no class folders'),
    ('train: valid-only class, no check', ['train', '{t}/validonly', *TINY], 'parachute have validation images but none'),
    ('train: --size 100000',         ['train', '{t}/good', *TINY, '--size', 100000], '`size`'),
    ('train: --size 0',              ['train', '{t}/good', *TINY, '--size', 0], '`size`'),
    ('train: huge --seed',           ['train', '{t}/good', *TINY, '--seed', 10**15], 'numpy seeds are 32-bit'),
    ('train: --lr1 inf',             ['train', '{t}/good', *TINY, '--lr1', 'inf'], '`lr1`'),
    ('train: --lr2 nan',             ['train', '{t}/good', *TINY, '--lr2', 'nan'], '`lr2`'),
    ('train: --wd inf',              ['train', '{t}/good', *TINY, '--wd', 'inf'], '`wd`'),
    ('train: --epochs 0 0',          ['train', '{t}/good', *TINY, '--epochs1', 0, '--epochs2', 0], 'no epoch to train'),
    ('train: --bs > images',         ['train', '{t}/good', *TINY, '--bs', 1000], 'batch size 1000'),
    ('train: --accum > batches',     ['train', '{t}/good', *TINY, '--accum', 50], '`accum`'),
    ('train: --out name too long',   ['train', '{t}/good', *TINY, '--out', '{t}/' + 'x' * 300], 'File name too long'),
    ('train: --out inside DATA',     ['train', '{t}/good', *TINY, '--out', '{t}/good/runs'], 'inside the dataset'),
    ('train: --overwrite user dir',  ['train', '{t}/good', *TINY, '--out', '{t}/user', '--overwrite'], 'not a twophase run directory'),
    ('train: --out not empty',       ['train', '{t}/good', *TINY, '--out', '{t}/user'], 'already exists'),
    ('train: missing --weights',     ['train', '{t}/good', *TINY, '--weights', '{t}/missing.pth'], 'not found'),
    ('train: garbage --weights',     ['train', '{t}/good', *TINY, '--weights', '{t}/bad.pth'], 'bad.pth'),
    ('train: --test other classes',  ['train', '{t}/good', *TINY, '--test', '{t}/other_test'], 'differ'),
    ('train: --test missing',        ['train', '{t}/good', *TINY, '--test', '{t}/nope'], 'no such folder'),
    ('train: --resume not a run',    ['train', '--resume', '{t}/user'], 'not a twophase run directory'),
    ('train: --resume changed data', ['train', '--resume', '{t}/half'], 'is not the data this run was trained on'),
    ('train: --phases lr inf',       ['train', '{t}/good', *TINY, '--phases', 'head:1:inf'], '0 < lr <= 1'),
    ('train: --schedule bogus',      ['train', '{t}/good', *TINY, '--schedule', 'bogus'], 'unknown schedule'),
    ('train: --preset bogus',        ['train', '{t}/good', *TINY, '--preset', 'bogus'], 'unknown preset'),
    ('train: --valid-pct 1.5',       ['train', '{t}/good', *TINY, '--valid-pct', 1.5], '`valid_pct`'),
    ('train: --arch vgg',            ['train', '{t}/good', *TINY, '--arch', 'vgg'], "unknown model 'vgg'"),
    ('train: --min-scale 0',         ['train', '{t}/good', *TINY, '--min-scale', 0], '`min_scale`'),
    ('train: --mixup -1',            ['train', '{t}/good', *TINY, '--mixup', -1], '`mixup`'),
    ('evaluate: no run',             ['evaluate', '{t}/user'], 'not found'),
    ('evaluate: --data other classes', ['evaluate', '{t}/run', '--data', '{t}/other_test'], 'differ'),
    ('evaluate: --data split layout', ['evaluate', '{t}/run', '--data', '{t}/good'], 'holds split folders'),
    ('evaluate: --data missing',     ['evaluate', '{t}/run', '--data', '{t}/nope'], 'no such folder'),
    ('report: no run',               ['report', '{t}/user'], 'not found'),
    ('predict: no images',           ['predict', '{t}/run', '{t}/noimages'], 'no readable images'),
    ('predict: --csv is a folder',   ['predict', '{t}/run', '{t}/good/valid', '--csv', '{t}/csvdir'], 'give a file name'),
    ('predict: no run',              ['predict', '{t}/user', '{t}/good/valid'], 'not found'),
    ('export: --size -5',            ['export', '{t}/run', '--onnx', '--size', -5], '--size'),
    ('export: no run',               ['export', '{t}/user', '--onnx'], 'not found'),
    ('check: no such folder',        ['check', '{t}/nope'], 'does not exist'),
    ('check: one class',             ['check', '{t}/oneclass'], 'only 1 class folder'),
    ('compare: unknown recipe',      ['compare', '{t}/good', '--recipes', 'bogus', '--out', '{t}/cmp1'], 'unknown recipe'),
    ('compare: bad --recipe',        ['compare', '{t}/good', '--recipe', 'no equals sign', '--out', '{t}/cmp2'], 'name="--option'),
    ('compare: --test other classes', ['compare', '{t}/good', '--recipes', 'head_only', '--test', '{t}/other_test',
                                       '--out', '{t}/cmp3', *TINY[:-1]], 'differ'),
    ('compare: --seeds 0',           ['compare', '{t}/good', '--seeds', 0, '--out', '{t}/cmp4'], 'seeds'),
    ('compare: --folds 1',           ['compare', '{t}/good', '--folds', 1, '--out', '{t}/cmp5'], 'folds'),
    ('compare: --seed (not --seeds)', ['compare', '{t}/good', '--seed', 5, '--out', '{t}/cmp6'], 'unrecognized arguments: --seed 5'),
    ('train: --epoch (a prefix)',    ['train', '{t}/good', *TINY, '--epoch', 3, '--out', '{t}/pre'], 'unrecognized arguments: --epoch 3'),
    ('compare: --seed in a recipe',  ['compare', '{t}/good', '--recipe', 's=--lr2 1e-4 --seed 7', '--out', '{t}/cmp7'],
                                     'recipe s: --seed cannot be part of a recipe'),
    ('compare: unclosed quote in a recipe', ['compare', '{t}/good', '--recipe', 'q=--lr2 "1e-4', '--out', '{t}/cmp8'],
                                     'recipe q: cannot read its options'),
    ('export: no such run',          ['export', '{t}/nope'], 'has no trained model'),
    ('train --resume: cut-short config.json', ['train', '--resume', '{t}/badcfg'], 'badcfg/config.json is not readable JSON'),
    ('train: --mean-std wrong length', ['train', '{t}/good', *TINY, '--mean-std', '0.5,0.5/0.5,0.5,0.5', '--out', '{t}/ms1'],
                                     'has 2 means and 3 standard deviations'),
    ('compare: --out is a folder of the user', ['compare', '{t}/good', '--recipes', 'head_only', '--seeds', 1, '--out', '{t}/user',
                                     *TINY[:-1]], 'is a folder that is not a compare directory'),
    ('compare: --summary-only on a folder of the user', ['compare', '{t}/good', '--summary-only', '--out', '{t}/user'],
                                     'not a compare directory'),
    ('compare: --summary-only on no folder', ['compare', '{t}/good', '--summary-only', '--out', '{t}/nope'], 'not a compare directory'),
    ('train: --test is the validation folder', ['train', '{t}/good', *TINY, '--test', '{t}/good/valid', '--out', '{t}/tv'],
                                     'images are identical to training or validation images'),
    ('evaluate: --data is the training folder', ['evaluate', '{t}/run', '--data', '{t}/good/train'],
                                     'images are identical to training or validation images'),
    ('serve: --max-pixels 0',        ['serve', '{t}/run', '--max-pixels', 0], '--max-pixels must be at least 1'),
]

def test_catalogue_size(): assert len(CASES) >= 40

def test_user_files_kept(w):
    "After the refusals above, the user's own folder is as it was: nothing written, nothing emptied"
    test_refused_clearly(w, *CASES[[c[0] for c in CASES].index('compare: --out is a folder of the user')])
    test_refused_clearly(w, *CASES[[c[0] for c in CASES].index('compare: --summary-only on a folder of the user')])
    assert sorted(p.name for p in (w/'user').iterdir()) == ['notes.txt'] and (w/'user'/'notes.txt').read_text() == 'mine'
    assert not (w/'nope').exists()

@pytest.mark.parametrize('name,args,msg', CASES, ids=[c[0] for c in CASES])
def test_refused_clearly(w, name, args, msg):
    r = twophase_forked(*[str(a).replace('{t}', str(w)) for a in args], timeout=180)  # the command's own code, without 6 s of imports
    assert r.returncode > 0, f"{name}: exit {r.returncode} (0: accepted; < 0: killed by a signal)\n{r.stdout[-2000:]}"
    assert 'Traceback' not in r.stderr, f"{name}: traceback\n{r.stderr[-3000:]}"
    assert msg in r.stderr, f"{name}: message lacks {msg!r}\n{r.stderr[-2000:]}"

def test_compare_reuses_only_same_data(w):
    "A compare rerun after its dataset changed in place refuses to mix the finished runs made on the old images"
    data = w/'cmpdata'; copy_images(data/'train', 4); copy_images(data/'valid', 2, 'valid')
    args = ['compare', data, '--recipes', 'head_only', '--seeds', 1, '--out', w/'cmpreuse', *TINY[:-1]]
    r = twophase(*args); assert r.returncode == 0, r.stderr[-2000:]
    r = twophase(*args); assert r.returncode == 0 and 'reused' in r.stdout, r.stdout[-2000:]  # same data: reused
    sorted((data/'train'/'tench').iterdir())[0].unlink()
    r = twophase(*args)
    assert r.returncode != 0 and 'Traceback' not in r.stderr, r.stderr[-2000:]
    assert 'was trained on other images' in r.stderr and '1 train image(s) removed' in r.stderr, r.stderr[-2000:]
