"The benchmark harness runs end to end in a tiny configuration and its summary agrees with its raw records."
import json, subprocess, sys
from conftest import ROOT, DATA, WEIGHTS

def test_bench_harness_tiny(tmp_path):
    out = tmp_path/'bench.json'
    p = subprocess.run([sys.executable, str(ROOT/'bench'/'run.py'), '--data', str(DATA), '--weights', str(WEIGHTS),
                        '--size', '32', '--epochs1', '1', '--epochs2', '1',
                        '--methods', 'twophase_fast,seed_recipe', '--out', str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert '| method | wall s |' in p.stdout and '| twophase_fast |' in p.stdout
    res = json.loads(out.read_text())
    rows = {r['method']: r for r in res['summary']}
    assert list(rows) == ['seed_recipe', 'twophase_fast']  # the seed recipe runs first: its best is the target
    assert res['target'] == rows['seed_recipe']['best_acc']
    for run in res['runs']:
        eps = [r for r in run['records'] if r['kind'] == 'epoch']
        assert [r['phase'] for r in eps] == [1, 2]
        row = rows[run['method']]
        assert row['best_acc'] == max(r['valid_acc'] for r in eps)
        hit = [r for r in eps if r['valid_acc'] >= res['target']]
        assert row['to_target'] == (hit[0]['t'] if hit else None)
        assert 0 < row['peak_rss_mb'] < 4096
    assert rows['twophase_fast']['notes']['cache_seconds'] > 0
    assert rows['twophase_fast']['notes']['config']['cache'] is True
