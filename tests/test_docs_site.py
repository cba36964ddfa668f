"""`make docs` (tools/build_docs.py) builds the site from the notebooks; headless Chromium opens the home page, an API
page and the walkthrough, every image on them loads, and no internal link or anchor of any page is broken."""
import subprocess, sys, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse, unquote
import pytest
from conftest import ROOT, static_site, screenshot

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp('docs')/'site'
    t0 = time.time()
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--out', str(out)], capture_output=True,
                       text=True, timeout=1200, cwd=ROOT)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    print(f'docs built in {time.time()-t0:.0f}s')
    return out

class Refs(HTMLParser):
    "Every link target and image source of a page, and every id/name it defines"
    def __init__(self):
        super().__init__(); self.refs, self.ids = [], set()
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.ids |= {a[k] for k in ('id', 'name') if a.get(k)}
        if tag in ('a', 'link') and a.get('href'): self.refs.append(a['href'])
        if tag in ('img', 'script') and a.get('src'): self.refs.append(a['src'])

def parse(f:Path) -> Refs:
    r = Refs(); r.feed(f.read_text(errors='replace')); return r

def test_every_page_and_internal_link(site):
    pages = sorted(site.rglob('*.html'))
    names = {p.relative_to(site).as_posix() for p in pages}
    assert {'index.html', 'tutorials/walkthrough.html', 'cli_reference.html', 'recipes.html', 'metrics.html', 'train.html',
            'serve.html', 'cli.html'} <= names, names
    parsed, broken, checked = {p: parse(p) for p in pages}, [], 0
    for p, refs in parsed.items():
        base = 'http://site/' + p.relative_to(site).as_posix()
        for ref in refs.refs:
            u = urlparse(urljoin(base, ref))
            if u.scheme in ('mailto', 'javascript', 'data') or u.netloc != 'site': continue  # external
            target = site/unquote(u.path.lstrip('/'))
            if target.is_dir(): target = target/'index.html'
            checked += 1
            if not target.exists(): broken.append(f'{p.relative_to(site)}: {ref} (no {target.relative_to(site)})')
            elif u.fragment and target.suffix == '.html' and unquote(u.fragment) not in parsed.get(target, parse(target)).ids:
                broken.append(f'{p.relative_to(site)}: {ref} (no #{u.fragment} in {target.relative_to(site)})')
    assert checked > 500 and not broken, '\n'.join(broken[:30])

IMAGES = "[...document.images].map(i => [i.getAttribute('src'), i.complete && i.naturalWidth > 0])"

@pytest.mark.parametrize('path,heading,min_images,text', [
    ('index.html', 'twophase', 0, 'Set-up: two commands'),
    ('metrics.html', 'Metrics', 0, 'topk_accuracy'),
    ('tutorials/walkthrough.html', 'Walkthrough', 5, 'Grad-CAM'),
    ('recipes.html', 'Recipes and evidence', 3, 'fast_bf16_flips'),
])
def test_page_renders_in_chromium(site, page, tmp_path, path, heading, min_images, text):
    with static_site(site) as url:
        resp = page.goto(url + path)
        assert resp.ok, resp.status
        page.wait_for_load_state('networkidle')
        assert page.locator('h1').first.inner_text().startswith(heading)
        assert text in page.locator('article').inner_text()
        assert page.locator('nav').first.is_visible()
        imgs = page.evaluate(IMAGES)
        assert len(imgs) >= min_images and all(ok for _, ok in imgs), imgs
        screenshot(page, 'docs-' + path.replace('/', '-').removesuffix('.html'), tmp_path)

def test_api_page_renders_docments(site, page):
    "show_doc's heading, signature with each parameter's docment, and docstring, for a documented function"
    with static_site(site) as url:
        page.goto(url + 'serve.html')
        art = page.locator('article')
        assert art.locator('h3', has_text='cam_overlay').count() == 1
        sig = art.locator('pre', has_text='def cam_overlay(').inner_text()
        assert '# weight of the heat map' in sig and 'alpha:float=0.45' in sig, sig
        assert "matplotlib's jet colours blended over the image" in art.inner_text()
