"""The package's floors: every module imports only modules on lower floors (so there is no import circle), as the
README's "Architecture" section draws them. A new module must be given its floor here."""
import ast, json, re
from conftest import ROOT

# lowest first; a module may import any module on an earlier line
FLOORS = [
    ['files', 'knobs'],                  # atomic writes, signals held back during them; a config's vocabulary
    ['weights'],                         # weight files and the normalisation they expect
    ['config', 'stats', 'layout', 'balance', 'backbone', 'curves', 'mixing'],  # settings; statistics; dataset folders; class
                                         # balance; timm bodies; training curves; MixUp or CutMix
    ['check', 'runlog'],                 # the dataset check; the run's log, progress output and history
    ['data', 'model', 'distributed', 'checkpoints'],
    ['phase', 'metrics', 'rundir', 'tracking', 'averaging', 'failures'],  # Phase and phase lists; scores; run directories;
                                         # TensorBoard/MLflow; EMA; how a run stops (errors and their hints)
    ['cache'],                           # the feature cache (trains phases on frozen-layer outputs)
    ['fit'],                             # fit_phase, progressive_fit, two_phase_fit
    ['train'],                           # runs: run directory, config-driven runs, resume, export
    ['plots', 'diagnose', 'predict'],    # loading a run and its plots; training-health rules; prediction, ONNX
    ['interpret', 'serve'],              # the run report (re-exports the three below it); the Gradio demo
    ['compare_report', 'ensemble'],
    ['compare'],
    ['cli'],
]

def package_imports() -> dict:
    "{module: set of twophase modules it imports}"
    out = {}
    for p in sorted((ROOT/'twophase').glob('*.py')):
        if p.stem.startswith('_'): continue
        deps = set()
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, ast.ImportFrom) and n.level == 1:
                deps |= {n.module.split('.')[0]} if n.module else {a.name for a in n.names}
        out[p.stem] = deps - {'__init__', '__version__'}
    return out

def test_every_module_has_a_floor():
    placed = [m for f in FLOORS for m in f]
    assert sorted(placed) == sorted(package_imports()), "give each module of twophase/ its floor in FLOORS"

def test_modules_import_only_lower_floors():
    floor = {m: i for i, f in enumerate(FLOORS) for m in f}
    bad = [f"{m} (floor {floor[m]}) imports {d} (floor {floor[d]})" for m, deps in package_imports().items()
           for d in sorted(deps) if floor[d] >= floor[m]]
    assert bad == [], '\n'.join(bad)

def notebook_imports() -> list:
    "[(notebook, module it exports, {twophase modules its cells import})] in reading order"
    out = []
    for nb in sorted((ROOT/'nbs').glob('[0-9]*.ipynb')):
        code = '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code')
        exp = re.search(r'^#\| default_exp (\w+)', code, re.M)
        deps = set(re.findall(r'twophase\.(\w+)', code)) | {m for g in re.findall(r'from twophase import ([\w, ]+)', code)
                                                              for m in re.split(r',\s*', g)}
        out.append((nb.name, exp and exp.group(1), deps))
    return out

def test_notebooks_have_no_forward_references():
    "Read in file-name order, no notebook uses a module that a later notebook defines"
    order = notebook_imports()
    at = {mod: i for i, (_, mod, _) in enumerate(order) if mod}
    bad = [f"{nb} uses twophase.{d}, defined later in {order[at[d]][0]}" for i, (nb, _, deps) in enumerate(order)
           for d in sorted(deps) if d in at and at[d] > i]
    assert bad == [], '\n'.join(bad)
