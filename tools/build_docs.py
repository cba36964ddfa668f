"""Build the documentation site from the notebooks into `_docs/` (`make docs`).

Steps, all done by the libraries that own them:
1. nbdev processes the notebooks into `_proc/` (its directives, `show_doc` pages with docments, `#| exec_doc` cells:
   the CLI reference and the recipes page);
2. the walkthrough is executed (nbclient, in `nbs/tutorials/`) so its figures are in the site;
3. with Quarto on PATH, Quarto renders `_proc/` exactly as `nbdev-docs` does. Without it (quarto-cli's PyPI package
   downloads the Quarto binary from GitHub while it installs, which fails offline), nbconvert turns each processed
   notebook into Markdown and MkDocs (Material theme) builds the site. `--engine` picks one explicitly.

Usage: python tools/build_docs.py [--out _docs] [--engine auto|quarto|mkdocs] [--full]
  --full runs the walkthrough at its full size (224 px, 10 + 30 epochs) instead of the quick one.
"""
import argparse, os, re, shutil, subprocess, sys, tempfile, time
from pathlib import Path
import yaml

ROOT = Path(__file__).resolve().parents[1]
SITE = 'https://twophase.github.io/twophase/'  # nbdev's doc links point here; made relative in the local site
API_ORDER = ['files', 'knobs', 'config', 'stats', 'layout', 'balance', 'check', 'data', 'model', 'curves', 'runlog', 'checkpoints', 'mixing',
             'distributed',
             'metrics', 'phase', 'cache', 'failures', 'rundir', 'tracking', 'fit', 'fit_toolkit', 'train', 'plots', 'diagnose',
             'predict', 'interpret', 'serve', 'compare_report', 'ensemble', 'compare', 'cli']
GUIDES = [('Home', 'index'), ('Walkthrough', 'tutorials/walkthrough'), ('CLI reference', 'cli_reference'),
          ('Recipes and evidence', 'recipes')]

def page_name(nb:Path, root:Path) -> str:
    "nbdev's page path for a notebook: its path under `nbs/`, without the `NN_` prefix or suffix"
    rel = nb.relative_to(root).with_suffix('')
    return str(rel.parent/re.sub(r'^\d+[a-z]?_', '', rel.name)).removeprefix('./')

def process(n_workers=2) -> Path:
    "nbdev's own processing of every notebook into `_proc/` (show_doc, directives, exec_doc cells)"
    os.chdir(ROOT)
    import nbdev.doclinks
    from nbdev.serve import proc_nbs
    nbdev.doclinks._build_modidx()
    return proc_nbs(n_workers=n_workers, force=True)

def execute(nb_path:Path, cwd:Path, full=False, timeout=1800):
    "Run a processed notebook in place with nbclient (cwd: where its source lives, for its relative paths)"
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(nb_path, as_version=4)
    env_full = os.environ.get('TWOPHASE_FULL')
    os.environ['TWOPHASE_FULL'] = '1' if full else '0'
    try: NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(cwd)}}).execute()
    finally:
        if env_full is None: os.environ.pop('TWOPHASE_FULL')
        else: os.environ['TWOPHASE_FULL'] = env_full
    nbformat.write(nb, nb_path)

def _directives(src:str) -> dict:
    return dict((m[0], m[1].strip()) for m in re.findall(r'^#\|\s*([\w-]+):?(.*)$', src, re.M))

def front_matter(nb) -> dict:
    "The YAML front matter nbdev put in the notebook's first raw cell ({} if none), removing that cell"
    c = nb.cells[0] if nb.cells else None
    if c is None or c.cell_type != 'raw' or not c.source.startswith('---'): return {}
    nb.cells.pop(0)
    return yaml.safe_load(c.source.strip().strip('-')) or {}

def to_markdown(nb_path:Path, out_dir:Path, name:str) -> tuple:
    "Convert one processed notebook to `name.md` (+ its figures) for MkDocs; returns (title, path)"
    import nbformat
    from nbconvert import MarkdownExporter
    nb = nbformat.read(nb_path, as_version=4)
    fm = front_matter(nb)
    for c in nb.cells:
        for k in set(c) - {'cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments'}: del c[k]  # nbdev's marks
        c.metadata.pop('execution', None)  # nbclient's timings (not valid nbformat)
        if c.cell_type != 'code': continue
        d = _directives(c.source)
        c.source = re.sub(r'^#\|.*\n?', '', c.source, flags=re.M).strip()
        if d.get('echo') == 'false' or not c.source: c.metadata.setdefault('tags', []).append('remove_input')
        if d.get('output') == 'false': c.outputs = []
        c.outputs = [o for o in c.get('outputs', []) if not (o.get('name') == 'stderr' and 'Warning' in o.get('text', ''))]  # env noise (tqdm without ipywidgets)
    depth = name.count('/')
    title = fm.get('title') or name
    head = f"# {title}\n\n" + (f"> {' '.join(str(fm['description']).split())}\n\n" if fm.get('description') else '')
    from traitlets.config import Config
    exp = MarkdownExporter(config=Config({'TagRemovePreprocessor': {'enabled': True, 'remove_input_tags': {'remove_input'}}}))
    stem = Path(name).name
    body, res = exp.from_notebook_node(nb, resources={'unique_key': stem, 'output_files_dir': f'{stem}_files'})
    body = body.replace(SITE, '../'*depth)  # nbdev's absolute doc links -> this site
    body = re.sub(r'\{target="_blank"[^}]*\}', '', body)  # Quarto link attributes
    dest = out_dir/f'{name}.md'
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(head + body)
    for fn, data in res.get('outputs', {}).items(): (dest.parent/fn).parent.mkdir(parents=True, exist_ok=True); (dest.parent/fn).write_bytes(data)
    return title, dest

def mkdocs_site(proc:Path, out:Path, site_url:str=''):
    "Markdown pages from `_proc/` + mkdocs.yml -> MkDocs (Material) site in `out`"
    stage = Path(tempfile.mkdtemp(prefix='twophase-docs-'))
    src = stage/'docs'
    pages = {}
    for nb in sorted(proc.rglob('*.ipynb')):
        name = page_name(nb, proc)
        pages[name] = to_markdown(nb, src, name)[0]
    api = [n for n in API_ORDER if n in pages] + sorted(n for n in pages if n not in API_ORDER and '/' not in n
                                                        and n not in dict(map(reversed, GUIDES)))
    nav = [{t: f'{n}.md'} for t, n in GUIDES if n in pages] + [{'API': [{pages[n]: f'{n}.md'} for n in api]}]
    cfg = dict(site_name='twophase', site_url=site_url, docs_dir='docs',  # no repo_url: the theme would call GitHub's API
               site_dir=str(out.resolve()), use_directory_urls=False, nav=nav,
               theme=dict(name='material', font=False, features=['navigation.sections', 'content.code.copy']),  # no web fonts
               markdown_extensions=['tables', 'attr_list', 'md_in_html', 'admonition', 'toc',
                                    {'pymdownx.highlight': {'use_pygments': True}}, 'pymdownx.superfences'],
               plugins=['search'])
    (stage/'mkdocs.yml').write_text(yaml.safe_dump(cfg, sort_keys=False))
    try: subprocess.run([sys.executable, '-m', 'mkdocs', 'build', '--clean', '--quiet', '-f', str(stage/'mkdocs.yml')],
                        check=True, cwd=stage, env={**os.environ, 'NO_MKDOCS_2_WARNING': '1'})
    finally: shutil.rmtree(stage, ignore_errors=True)

def quarto_site(proc:Path, out:Path, full=False):
    "Render `_proc/` with Quarto, as `nbdev-docs` does"
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.quarto_render import render_quarto
    refresh_quarto_yml(); nbdev_sidebar.__wrapped__()
    process()  # again, now that the sidebar and _quarto.yml exist
    execute(proc/"tutorials"/"walkthrough.ipynb", ROOT/"nbs"/"tutorials", full=full)
    render_quarto(proc, proc/'_site_out', n_workers=1)
    shutil.rmtree(out, ignore_errors=True); shutil.move(proc/'_site_out', out)

def check_out(out:Path):
    "Refuse a site folder that would wipe something else: the repository (or a folder holding it), or a non-empty folder that is not a site"
    if out == ROOT or out in ROOT.parents or ROOT/'nbs' == out or (ROOT/'nbs') in out.parents:
        sys.exit(f"docs: --out {out} would replace the sources; choose a folder of its own (default: _docs/)")
    if out.exists() and any(out.iterdir()) and not (out/'index.html').exists():
        sys.exit(f"docs: --out {out} is a non-empty folder that holds no site; the build empties it first, so choose "
                 f"an empty or new folder")

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default=str(ROOT/'_docs'), help='site folder (default: _docs/)')
    p.add_argument('--engine', choices=['auto', 'quarto', 'mkdocs'], default='auto')
    p.add_argument('--site-url', default='', help=f"the site's public address, when publishing (e.g. {SITE}); "
                   "the default suits a local build or any static host")
    p.add_argument('--full', action='store_true', help='run the walkthrough at full size (slow on a CPU)')
    a = p.parse_args(argv)
    engine = a.engine if a.engine != 'auto' else ('quarto' if shutil.which('quarto') else 'mkdocs')
    if engine == 'quarto' and not shutil.which('quarto'): sys.exit('docs: --engine quarto needs `quarto` on PATH '
                                                                  '(https://quarto.org/docs/get-started/)')
    t0, out = time.time(), Path(a.out).resolve()
    check_out(out)
    proc = process()
    print(f'docs: notebooks processed by nbdev into {proc} ({time.time()-t0:.0f}s)')
    if engine == "quarto": quarto_site(proc, out, a.full)
    else:
        execute(proc/'tutorials'/'walkthrough.ipynb', ROOT/'nbs'/'tutorials', full=a.full)
        print(f'docs: walkthrough executed ({time.time()-t0:.0f}s)')
        mkdocs_site(proc, out, a.site_url)
    print(f'docs: {engine} site in {out} ({time.time()-t0:.0f}s); open {out/"index.html"} '
          f'or serve it: python -m http.server -d {out} 8000')

if __name__ == '__main__': main()
