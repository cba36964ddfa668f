"""The package's floors: every module imports only modules on lower floors (so there is no import circle), as the
README's "Architecture" section draws them. A new module must be given its floor here."""
import ast
from pathlib import Path
from conftest import ROOT

# lowest first; a module may import any module on an earlier line
FLOORS = [
    ['config', 'stats', 'layout'],       # settings; statistics; files on disk
    ['check'],                           # the dataset check
    ['data', 'model', 'distributed', 'callbacks'],
    ['cache', 'metrics'],
    ['train'],                           # phases, progressive_fit, runs, resume
    ['interpret'],                       # evaluation, plots, report, predict, export
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
