"""Fault-injection suite for the dataset check (`twophase.check`, `twophase check`, the check before `twophase train`).

One bad dataset holds a file (or folder) for every fault case in `CASES`; each test asserts that case is reported,
skipped or converted as designed, and the last one trains on what is left. Error-level cases (one class, a class only
in valid/) stop a run, so they get small datasets of their own."""
import json, re, shutil
from pathlib import Path
import numpy as np
import pytest
from PIL import Image, ImageOps
from conftest import DATA, WEIGHTS, twophase
from twophase import check as check_mod
from twophase.check import check_dataset, load_rgb, CheckedImage

CLASSES = ['church', 'garbage_truck', 'parachute']  # in train/ and valid/
TRAIN_ONLY = 'tench'  # in train/ only
N_TRAIN, N_VALID, N_TRAIN_ONLY = 12, 4, 6
MAX_PIXELS = 1_000_000  # so that a modest 1200x1000 image counts as huge
TINY = ['--weights', WEIGHTS, '--size', 32, '--bs', 8, '--epochs1', 1, '--epochs2', 1, '--no-report']

# (case, kind, action, path under the dataset): one file or folder per case, all in one bad dataset
CASES = [
    ('corrupt',                'corrupt',               'skipped',   'train/church/corrupt.jpg'),
    ('truncated',              'truncated',             'skipped',   'train/church/truncated.jpg'),
    ('zero_byte',              'zero_byte',             'skipped',   'train/garbage_truck/zero.jpg'),
    ('not_image_txt',          'not_image',             'skipped',   'train/church/notes.txt'),
    ('not_image_csv',          'not_image',             'skipped',   'valid/parachute/labels.csv'),
    ('grayscale',              'converted_mode',        'converted', 'train/church/gray.jpg'),
    ('rgba_transparent',       'converted_mode',        'converted', 'train/garbage_truck/rgba.png'),
    ('cmyk',                   'converted_mode',        'converted', 'train/parachute/cmyk.jpg'),
    ('gray_16bit',             'converted_mode',        'converted', 'valid/church/gray16.png'),
    ('palette',                'converted_mode',        'converted', 'train/parachute/palette.png'),
    ('exif_rotated',           'exif_rotated',          'converted', 'train/church/rotated.jpg'),
    ('too_large',              'too_large',             'skipped',   'train/garbage_truck/huge.jpg'),
    ('tiny',                   'tiny',                  'warning',   'train/parachute/tiny.png'),
    ('duplicate_train_valid',  'duplicate_train_valid', 'warning',   'valid/church/copy_of_train.jpg'),
    ('duplicate_in_split',     'duplicate',             'warning',   'train/parachute/zz_copy.jpg'),
    ('empty_class',            'empty_class',           'warning',   'train/empty_class'),
    ('ds_store',               'hidden',                'skipped',   'train/church/.DS_Store'),
    ('appledouble',            'hidden',                'skipped',   'train/church/._rotated.jpg'),
    ('hidden_folder',          'hidden',                'skipped',   'train/.thumbnails/thumb.jpg'),
    ('nested',                 'nested',                'warning',   'train/church/sub/nested.jpg'),
    ('loose_file',             'loose_file',            'skipped',   'train/loose.jpg'),
    ('train_only_class',       'train_only_class',      'warning',   f'train/{TRAIN_ONLY}'),
]
ERROR_CASES = [('single_class', 'error'), ('valid_only_class', 'error')]  # datasets of their own (see `error_data`)
ADVICE_CASES = [('imbalance', 'warning')]  # about the data's make-up, not a faulty file: tests/test_imbalance.py, nbs/01_check.ipynb
CASE = {c[0]: c for c in CASES}
print(f"test_dataset_faults: {len(CASES)} fault cases in the bad dataset + {len(ERROR_CASES)} error cases")

def real(split, cls, n):
    "The first `n` real photos of `cls` in imagenette4 `split`"
    fs = sorted((DATA/split/cls).glob('*.jpg'))[:n]
    assert len(fs) == n, f"imagenette4 {split}/{cls} has too few images"
    return fs

def copy_real(dst, split, cls, n):
    (dst/split/cls).mkdir(parents=True, exist_ok=True)
    for f in real(split, cls, n): shutil.copy(f, dst/split/cls/f.name)

def src_img(i=0, cls='church'):
    "An RGB photo not copied into any dataset here (from the back of the list)"
    return Image.open(sorted((DATA/'train'/cls).glob('*.jpg'))[-1 - i]).convert('RGB')

def build_bad(root:Path) -> dict:
    "Write the bad dataset; return {case: extra info the conversion tests need}"
    for c in CLASSES:
        copy_real(root, 'train', c, N_TRAIN); copy_real(root, 'valid', c, N_VALID)
    copy_real(root, 'train', TRAIN_ONLY, N_TRAIN_ONLY)
    p = {name: root/rel for name, _, _, rel in CASES}
    for f in p.values(): f.parent.mkdir(parents=True, exist_ok=True)
    info = {}
    rng = np.random.default_rng(0)
    p['corrupt'].write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    p['truncated'].write_bytes(real('valid', TRAIN_ONLY, 1)[0].read_bytes()[:2000])
    p['zero_byte'].write_bytes(b'')
    p['not_image_txt'].write_text('photos taken on the trip\n')
    p['not_image_csv'].write_text('file,label\na.jpg,parachute\n')
    gray = src_img(0).convert('L'); gray.save(p['grayscale'], quality=90); info['grayscale'] = gray.size
    rgb = src_img(1); a = np.full(rgb.size[::-1], 255, np.uint8); a[:20, :20] = 0  # top-left 20x20 transparent
    rgba = rgb.copy(); rgba.putalpha(Image.fromarray(a)); rgba.save(p['rgba_transparent'])
    info['rgba_transparent'] = np.asarray(rgb)
    cm = src_img(2); cm.convert('CMYK').save(p['cmyk'], quality=95); info['cmyk'] = np.asarray(cm)
    g = ImageOps.autocontrast(src_img(3).convert('L'))  # full 0..255 range, so 16-bit max is 65535
    g16 = np.asarray(g).astype(np.uint16) * 257
    Image.fromarray(g16).save(p['gray_16bit']); info['gray_16bit'] = np.asarray(g)
    pal = src_img(4).convert('P', palette=Image.Palette.ADAPTIVE, colors=256); pal.save(p['palette'])
    info['palette'] = np.asarray(src_img(4))
    rot = src_img(5).crop((0, 0, 160, 100)); exif = Image.Exif(); exif[0x0112] = 6  # 160 wide, 100 high, "rotate 90 CW"
    rot.save(p['exif_rotated'], exif=exif, quality=95)
    src_img(6).resize((1200, 1000)).save(p['too_large'], quality=60)
    src_img(7).resize((16, 16)).save(p['tiny'])
    shutil.copy(root/'train'/'church'/real('train', 'church', 1)[0].name, p['duplicate_train_valid'])
    shutil.copy(root/'train'/'parachute'/real('train', 'parachute', 1)[0].name, p['duplicate_in_split'])
    p['empty_class'].mkdir(parents=True, exist_ok=True)
    p['ds_store'].write_bytes(b'\x00\x00\x00\x01Bud1' + bytes(100))
    p['appledouble'].write_bytes(b'\x00\x05\x16\x07\x00\x02\x00\x00' + bytes(74))  # AppleDouble magic + header
    src_img(8).save(p['hidden_folder'])
    src_img(9).save(p['nested'])
    src_img(10).save(p['loose_file'])
    return info

@pytest.fixture(scope='module')
def bad(tmp_path_factory):
    root = tmp_path_factory.mktemp('faults')/'bad'
    info = build_bad(root)
    return root, info

@pytest.fixture(scope='module')
def report(bad):
    return check_dataset(bad[0], max_pixels=MAX_PIXELS)

def at(rep, path): return [(f.kind, f.action) for f in rep.findings if Path(f.path) == Path(path)]

def test_case_table_covers_every_kind_in_check_py():
    "Every finding kind `check.py` can emit is one of the cases (a new kind fails this until it has a case)"
    import inspect
    src = inspect.getsource(check_mod)
    emitted = set(re.findall(r"rep\.add\('(\w+)'", src))
    emitted |= {k for m in re.findall(r"kind = '(\w+)' if .* else '(\w+)'", src) for k in m}  # truncated / corrupt
    covered = {k for _, k, _, _ in CASES} | {k for k, _ in ERROR_CASES + ADVICE_CASES}
    print(f"{len(CASES)} fault cases, {len(emitted)} finding kinds")
    assert len(CASES) == len(CASE) == 22
    assert emitted == covered, f"kinds without a case: {emitted - covered}; cases of no kind: {covered - emitted}"

@pytest.mark.parametrize('name,kind,action,rel', CASES, ids=[c[0] for c in CASES])
def test_fault_is_handled_as_designed(bad, report, name, kind, action, rel):
    root, _ = bad
    path = root/rel
    assert path.exists()
    assert (kind, action) in at(report, path), f"{name}: {at(report, path)}"
    usable = report.good_files
    if path.is_dir():  # a class folder: its usable images are used iff the class is (train-only yes, empty no)
        inside = [f for f in usable if path in f.parents]
        assert (len(inside) > 0) == (kind == 'train_only_class'), inside
    elif action == 'skipped': assert path not in usable
    else: assert path in report.files[rel.split('/')[0]]

def test_findings_are_exactly_the_cases(bad, report):
    "Nothing reported beyond the cases (no real photo flagged, no case reported twice or as something else)"
    root, _ = bad
    got = sorted((f.kind, f.action, str(Path(f.path).relative_to(root))) for f in report.findings)
    assert got == sorted((k, a, r) for _, k, a, r in CASES)
    assert report.problems() == []
    assert all(f.message and str(root) in f.path for f in report.findings)

def test_usable_counts(bad, report):
    root, _ = bad
    by_action = {a: {root/r for _, _, act, r in CASES if act == a} for a in ('skipped', 'converted', 'warning')}
    n_train_ok = sum(1 for f in by_action['converted'] | by_action['warning'] if f.is_file() and 'train' == f.relative_to(root).parts[0])
    n_valid_ok = sum(1 for f in by_action['converted'] | by_action['warning'] if f.is_file() and 'valid' == f.relative_to(root).parts[0])
    assert len(report.files['train']) == len(CLASSES) * N_TRAIN + N_TRAIN_ONLY + n_train_ok
    assert len(report.files['valid']) == len(CLASSES) * N_VALID + n_valid_ok
    assert not set(report.good_files) & by_action['skipped']

def test_summary_lists_counts_and_paths(bad, report):
    s = report.summary(max_lines=100)
    assert f"train {len(report.files['train'])} usable images" in s and f"valid {len(report.files['valid'])} usable images" in s
    for _, kind, _, rel in CASES: assert kind in s and str(bad[0]/rel) in s, rel
    short = report.summary(max_lines=5)
    assert f"and {len(CASES) - 5} more" in short

def test_without_max_pixels_the_large_image_is_used(bad):
    rep = check_dataset(bad[0])
    huge = bad[0]/CASE['too_large'][3]
    assert at(rep, huge) == [] and huge in rep.files['train']

def test_quick_check_misses_only_truncated(bad, report):
    "--quick reads headers only: a truncated JPEG passes, every other case is still found"
    rep = check_dataset(bad[0], full=False, max_pixels=MAX_PIXELS)
    trunc = bad[0]/CASE['truncated'][3]
    assert trunc in rep.files['train']
    assert sorted((f.kind, f.path) for f in rep.findings) == sorted((f.kind, f.path) for f in report.findings if f.kind != 'truncated')

def test_raising_max_pixels_admits_a_genuine_huge_image(bad, monkeypatch):
    "The too_large message says 'raise --max-pixels if it is genuine'; PIL's limit (lowered here to stand in for its "
    "89M default) must then not reject it"
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 1_000_000)
    rep = check_dataset(bad[0], max_pixels=2_000_000)
    huge = bad[0]/CASE['too_large'][3]
    assert at(rep, huge) == [] and huge in rep.files['train']

# --- conversions: what training sees ---
CONVERTED = [c[0] for c in CASES if c[2] == 'converted']

@pytest.mark.parametrize('name', CONVERTED)
def test_converted_file_loads_as_rgb(bad, name):
    path = bad[0]/CASE[name][3]
    with Image.open(path) as im: w, h = im.size
    assert name == 'exif_rotated' or Image.open(path).mode != 'RGB'  # the case really is an odd mode
    im = load_rgb(path)
    a = np.asarray(im)
    assert im.mode == 'RGB' and a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
    assert im.size == ((h, w) if name == 'exif_rotated' else (w, h))
    assert np.array_equal(np.asarray(CheckedImage.create(path)), a)  # what the DataLoaders load
    assert len(np.unique(a)) > 50, "image lost its content"

def test_grayscale_has_equal_channels(bad):
    a = np.asarray(load_rgb(bad[0]/CASE['grayscale'][3])).astype(int)
    assert (a[..., 0] == a[..., 1]).all() and (a[..., 1] == a[..., 2]).all()

def test_16bit_is_scaled_not_white(bad):
    a = np.asarray(load_rgb(bad[0]/CASE['gray_16bit'][3])).astype(int)
    expected = bad[1]['gray_16bit'].astype(int)
    assert len(np.unique(a)) > 100 and (a == 255).mean() < 0.5  # not blown out to white
    assert np.abs(a[..., 0] - expected).max() <= 1  # 16-bit g*257 -> 8-bit g

def test_transparent_pixels_become_white(bad):
    a = np.asarray(load_rgb(bad[0]/CASE['rgba_transparent'][3]))
    assert (a[:20, :20] == 255).all()
    orig = bad[1]['rgba_transparent']
    assert np.array_equal(a[20:], orig[20:]) and not (orig[:20, :20] == 255).all()

def test_cmyk_and_palette_keep_their_colours(bad):
    for name in ('cmyk', 'palette'):
        a = np.asarray(load_rgb(bad[0]/CASE[name][3])).astype(int)
        assert np.abs(a - bad[1][name].astype(int)).mean() < 8, name

def test_exif_rotated_comes_out_upright(bad):
    path = bad[0]/CASE['exif_rotated'][3]
    with Image.open(path) as im:
        assert im.size == (160, 100) and im.getexif()[0x0112] == 6
        upright = np.asarray(im.convert('RGB').transpose(Image.Transpose.ROTATE_270))  # orientation 6: turn 90 deg clockwise
    a = np.asarray(load_rgb(path))
    assert a.shape == (160, 100, 3) and np.array_equal(a, upright)

# --- error cases: datasets of their own ---
def make_error_data(root:Path, case:str) -> tuple:
    "(dataset, the folder the error names)"
    ds = root/case
    if case == 'single_class':  # passes layout detection (2 class folders), but one holds only a corrupt file
        copy_real(ds, 'train', 'church', 3); copy_real(ds, 'valid', 'church', 2)
        (ds/'train'/'garbage_truck').mkdir(parents=True); (ds/'train'/'garbage_truck'/'broken.jpg').write_bytes(b'not a jpeg' * 50)
        return ds, ds
    for c in ('church', 'garbage_truck'): copy_real(ds, 'train', c, 3); copy_real(ds, 'valid', c, 2)
    copy_real(ds, 'valid', 'parachute', 2)
    return ds, ds/'valid'/'parachute'

@pytest.fixture(scope='module')
def error_data(tmp_path_factory):
    root = tmp_path_factory.mktemp('errors')
    return {case: make_error_data(root, case) for case, _ in ERROR_CASES}

@pytest.mark.parametrize('case', [c for c, _ in ERROR_CASES])
def test_error_case_reported(error_data, case):
    ds, folder = error_data[case]
    rep = check_dataset(ds)
    errs = rep.of('error')
    assert [(f.kind, Path(f.path)) for f in errs] == [(case, folder)]
    assert rep.problems() == errs

@pytest.mark.parametrize('case', [c for c, _ in ERROR_CASES])
def test_error_case_stops_check_and_train(error_data, tmp_path, case):
    ds, folder = error_data[case]
    r = twophase('check', ds)
    assert r.returncode == 1, r.stderr[-2000:]
    assert 'dataset check of' in r.stdout and f'[error] {folder}:' in r.stdout and 'would stop training' in r.stderr
    out = tmp_path/'run'
    r = twophase('train', ds, *TINY, '--out', out)
    assert r.returncode == 2, r.stderr[-2000:]
    assert 'twophase: error: the dataset check found 1 problem(s)' in r.stderr and f'{folder}: ' in r.stderr, r.stderr[-2000:]
    assert 'Traceback' not in r.stderr
    assert not (out/'export.pkl').exists()

# --- --strict, and training on what is left ---
def test_strict_turns_warnings_into_problems(bad, report):
    warnings = report.of('warning')
    assert len(warnings) == sum(1 for c in CASES if c[2] == 'warning')
    assert report.problems(strict=True) == warnings and report.problems() == []
    r = twophase('check', bad[0], '--max-pixels', MAX_PIXELS)
    assert r.returncode == 0, r.stderr[-2000:]
    n_skipped = sum(1 for c in CASES if c[2] == 'skipped')
    assert f"the dataset can be trained on ({n_skipped} file(s) will be skipped)" in r.stdout
    r = twophase('check', bad[0], '--max-pixels', MAX_PIXELS, '--strict')
    assert r.returncode == 1 and f"{len(warnings)} problem(s) would stop training (--strict)" in r.stderr, r.stderr[-2000:]

def test_train_strict_stops(bad, tmp_path):
    r = twophase('train', bad[0], *TINY, '--max-pixels', MAX_PIXELS, '--strict', '--out', tmp_path/'run')
    assert r.returncode == 2, r.stderr[-2000:]
    assert 'the dataset check found' in r.stderr and '(--strict: warnings count)' in r.stderr and 'Traceback' not in r.stderr
    assert not (tmp_path/'run'/'export.pkl').exists()

def test_training_runs_on_the_good_images(bad, report, tmp_path):
    out = tmp_path/'run'
    r = twophase('train', bad[0], *TINY, '--max-pixels', MAX_PIXELS, '--out', out)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"dataset check of {bad[0]} (split): train {len(report.files['train'])} usable images" in r.stdout
    cfg = json.loads((out/'config.json').read_text())
    ds = cfg['dataset']
    assert ds['n_train'] == len(report.files['train']) and ds['n_valid'] == len(report.files['valid'])
    classes = sorted(CLASSES + [TRAIN_ONLY])  # not empty_class, not the hidden folder
    assert ds['classes'] == classes and ds['train_per_class'][TRAIN_ONLY] == N_TRAIN_ONLY and ds['valid_per_class'][TRAIN_ONLY] == 0
    assert cfg['results']['epochs'] == 2
    from fastai.learner import load_learner
    learn = load_learner(out/'export.pkl')
    assert list(learn.dls.vocab) == classes
