"""Render README.md from nbs/index.ipynb (markdown cells as they are, code cells as ```python blocks).

nbdev's own `nbdev-readme` needs Quarto; this keeps the README in sync without it.
Usage: python tools/make_readme.py [--check]   (--check: exit 1 if README.md is out of date)
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def render(nb_path=ROOT/'nbs'/'index.ipynb') -> str:
    cells = json.loads(Path(nb_path).read_text())['cells']
    out = []
    for c in cells:
        src = ''.join(c['source']).strip('\n')
        if c['cell_type'] == 'markdown': out.append(src)
        elif c['cell_type'] == 'code': out.append(f'```python\n{src}\n```')
    return '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    txt, readme = render(), ROOT/'README.md'
    if '--check' in sys.argv:
        ok = readme.exists() and readme.read_text() == txt
        print('README.md is in sync with nbs/index.ipynb' if ok else 'README.md is out of date: run python tools/make_readme.py')
        sys.exit(0 if ok else 1)
    readme.write_text(txt)
    print(f'wrote {readme}')
