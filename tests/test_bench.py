"The benchmark harness runs end to end in a tiny configuration and its summary agrees with its raw records."
import json, subprocess, sys
from conftest import ROOT, DATA, WEIGHTS

def test_bench_harness_tiny(tmp_path):
    out = tmp_path/'bench.json'
    p = subprocess.run([sys.executable, str(ROOT/'bench'/'run.py'), '--data', str(DATA), '--weights', str(WEIGHTS),
                        '--size', '32', '--epochs1', '1', '--epochs2', '1',
                        '--methods', 'twophase_fast,seed_recipe', '--seeds', '2', '--test', str(DATA/'valid'), '--out', str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert '| method | seeds | test acc (95% CI) |' in p.stdout and '| twophase_fast | 2 |' in p.stdout
    res = json.loads(out.read_text())
    rows = {(r['method'], r['seed']): r for r in res['summary']}
    assert list(rows) == [('seed_recipe', 1), ('seed_recipe', 2), ('twophase_fast', 1), ('twophase_fast', 2)]  # seed recipe first
    for m in res['by_method']:  # the mean test accuracy over seeds, with its t interval
        accs = [r['test_acc'] for r in res['summary'] if r['method'] == m['method']]
        assert m['seeds'] == 2 and abs(m['test_acc'] - sum(accs) / 2) < 1e-12 and m['ci_low'] <= m['test_acc'] <= m['ci_high']
        assert all(r['n_test'] == 100 for r in res['summary'])
    first = {k[0]: r for k, r in rows.items() if k[1] == 1}
    assert res['target'] == rows['seed_recipe', 1]['best_acc']
    for run in res['runs']:
        eps = [r for r in run['records'] if r['kind'] == 'epoch']
        assert [r['phase'] for r in eps] == [1, 2]
        row = rows[run['method'], run['seed']]
        assert row['best_acc'] == max(r['valid_acc'] for r in eps)
        hit = [r for r in eps if r['valid_acc'] >= res['target']]
        assert row['to_target'] == (hit[0]['t'] if hit else None)
        assert 0 < row['peak_rss_mb'] < 4096
    assert first['twophase_fast']['notes']['cache_seconds'] > 0
    assert first['twophase_fast']['notes']['config']['cache'] is True
