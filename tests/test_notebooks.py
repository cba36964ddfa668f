"""Every notebook, run by `nbdev-test` with its `#| slow` cells, each in a process of its own: `make test` spreads them
over the cores together with the other tests (`pytest -n 2 --dist loadscope`; one test class per notebook, so each
notebook is a scope of its own), and no process keeps every notebook's memory (one `nbdev-test` over all the notebooks
grew to ~11 GB; one notebook at a time stays under ~4 GB)."""
import re, subprocess
from conftest import ROOT, BIN

NBS = sorted(str(p.relative_to(ROOT/'nbs')) for p in (ROOT/'nbs').rglob('*.ipynb') if '.ipynb_checkpoints' not in p.parts)

def run_notebook(nb:str):
    r = subprocess.run([str(BIN/'nbdev-test'), str(ROOT/'nbs'/nb), '--flags', 'slow', '--timing'], capture_output=True,
                       text=True, cwd=ROOT, timeout=1800)
    assert r.returncode == 0 and 'Success.' in r.stdout, f"{nb} failed:\n{r.stdout[-3000:]}\n{r.stderr[-8000:]}"

def test_every_notebook_is_collected():
    "The notebooks that `nbdev-test` runs are the ones tested here (a renamed folder would silently drop some)"
    assert len(NBS) > 30 and {'tutorials/walkthrough.ipynb', 'index.ipynb'} <= set(NBS)
    assert len({k for k in globals() if k.startswith('TestNotebook_')}) == len(NBS)

for _nb in NBS:  # TestNotebook_04c_train::test_runs, ...
    _name = 'TestNotebook_' + re.sub(r'\W', '_', _nb.removesuffix('.ipynb'))
    globals()[_name] = type(_name, (), {'test_runs': lambda self, nb=_nb: run_notebook(nb), '__doc__': f"nbs/{_nb}"})
