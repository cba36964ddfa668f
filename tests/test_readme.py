"The README is rendered from nbs/index.ipynb, and its quick start runs as written."
import re, shutil, subprocess, sys
from conftest import ROOT

def test_readme_in_sync_with_index():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'make_readme.py'), '--check'], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout

def test_quick_start_runs_as_written():
    code = re.findall(r'```python\n(.*?)```', (ROOT/'README.md').read_text(), re.S)[0]
    assert 'two_phase_fit' in code
    run = ROOT/'runs'/'quickstart'
    shutil.rmtree(run, ignore_errors=True)
    try:
        r = subprocess.run([sys.executable, '-c', code], cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
        assert 'valid_accuracy' in r.stdout
        for f in ('logs/training_metrics.csv', 'models/best_model.pth', 'export.pkl', 'config.json'): assert (run/f).exists(), f
        from conftest import twophase
        r = twophase('evaluate', run, cwd=ROOT)  # a run made from Python works with the CLI too
        assert r.returncode == 0 and 'plain: top-1' in r.stdout, r.stderr[-2000:]
    finally: shutil.rmtree(run, ignore_errors=True)

def markdown_tables(text:str) -> list:
    "Each markdown table of `text` (outside code blocks) as its list of lines"
    text = re.sub(r'```.*?```', '', text, flags=re.S)
    tables, cur = [], []
    for line in text.splitlines() + ['']:
        if line.startswith('|'): cur.append(line)
        elif cur: tables.append(cur); cur = []
    return tables

def test_markdown_tables_render():
    "Every table in the README and the study summary has its header separator, and each row the header's columns"
    assert markdown_tables('a\n| x | y |\n| 1 | 2 |\n') == [['| x | y |', '| 1 | 2 |']]  # the helper finds tables
    for f in (ROOT/'README.md', ROOT/'bench'/'README.md'):
        for t in markdown_tables(f.read_text()):
            assert len(t) >= 2 and re.fullmatch(r'\|( *:?-+:? *\|)+', t[1]), f"{f.name}: table without a separator: {t[0][:80]}"
            n = t[0].count('|')
            bad = [r for r in t if r.replace('\\|', '').count('|') != n]
            assert not bad, f"{f.name}: rows with another number of columns than {t[0][:60]}: {bad[0][:80]}"
