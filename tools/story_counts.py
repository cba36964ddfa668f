#!/usr/bin/env python
"""How the notebooks read and where the knobs live: the counts of issue 26, before and after a restructuring.

    python tools/story_counts.py            # a table on stdout
    python tools/story_counts.py --json     # the same as JSON

Counts: notebooks, cells, code cells and code lines (nbs/, in sorted-name order = reading order); the code cell in
which `two_phase_fit` is first called; notebooks over 40 cells; for each per-phase knob, the places in the library
that declare a default for it; raw `json.load(s)` reads of a config.json outside `rundir.py`; modules over 300 lines
and functions over 40 lines; repeated blocks of six or more lines (the `duplicates` command, where it is installed)."""
import ast, json, re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KNOBS = ('plateau_patience', 'accum', 'patience', 'ema')  # the per-phase settings issue 26 names

def notebooks():
    "(name, [cells]) of every notebook in nbs/, sorted by name (the reading order)"
    return [(p.name, json.loads(p.read_text())['cells']) for p in sorted((ROOT/'nbs').glob('*.ipynb'))]

def src(cell): return ''.join(cell['source'])

def notebook_counts(nbs) -> dict:
    code = [(n, src(c)) for n, cells in nbs for c in cells if c['cell_type'] == 'code']
    first = next((i for i, (_, s) in enumerate(code, 1) if re.search(r'(?<!def )\btwo_phase_fit\(', s)), None)
    return dict(notebooks=len(nbs), cells=sum(len(c) for _, c in nbs), code_cells=len(code),
                code_lines=sum(1 for _, s in code for l in s.splitlines() if l.strip()),
                first_two_phase_fit_call=f"code cell {first} ({code[first - 1][0]})" if first else None,
                notebooks_over_40_cells=[f"{n} ({len(c)})" for n, c in nbs if len(c) > 40])

def knob_defaults(mods) -> dict:
    "Per knob: the `file:line`s that declare a default (an annotated parameter or field with `=`, or `knob=<number>`)"
    out = {}
    for k in KNOBS:
        pat = re.compile(rf'\b{k}\s*:\s*[\w\[\]|. ]+\s*=|[(,]\s*{k}\s*=\s*[-\d.]')
        out[k] = [f"{p.name}:{i}" for p in mods for i, l in enumerate(p.read_text().splitlines(), 1) if pat.search(l)]
    return out

def raw_config_reads(mods) -> list:
    "`file:line`s outside rundir.py that parse JSON on a line that speaks of config"
    return [f"{p.name}:{i}" for p in mods if p.name != 'rundir.py'
            for i, l in enumerate(p.read_text().splitlines(), 1) if re.search(r'json\.loads?\(', l) and 'config' in l]

def long_code(mods) -> tuple:
    "(modules over 300 lines, functions over 40 lines)"
    big = [f"{p.name} ({n})" for p in mods if (n := len(p.read_text().splitlines())) > 300]
    fns = []
    for p in mods:
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 40:
                fns.append(f"{p.name}:{node.name} ({node.end_lineno - node.lineno + 1})")
    return big, fns

def repeated_blocks() -> str|None:
    "The first line of `duplicates` over the library (None where the command is not installed)"
    if not shutil.which('duplicates'): return None
    r = subprocess.run(['duplicates', '--repo', str(ROOT/'twophase'), '--most', '1'], capture_output=True, text=True)
    return (r.stdout.strip().splitlines() or [''])[0]

def counts() -> dict:
    mods = sorted(p for p in (ROOT/'twophase').glob('*.py') if p.name != '_modidx.py')
    big, fns = long_code(mods)
    kd = knob_defaults(mods)
    return dict(**notebook_counts(notebooks()), knob_default_places={k: len(v) for k, v in kd.items()}, knob_default_where=kd,
                raw_config_reads=raw_config_reads(mods), modules_over_300_lines=big, functions_over_40_lines=fns,
                repeated_blocks=repeated_blocks())

if __name__ == '__main__':
    c = counts()
    if '--json' in sys.argv: print(json.dumps(c, indent=1)); sys.exit()
    for k, v in c.items():
        if k == 'knob_default_where': continue
        n = f" ({len(v)})" if isinstance(v, list) else ''
        print(f"{k}{n}: {', '.join(v) if isinstance(v, list) else v}")
