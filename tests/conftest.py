"Paths shared by the end-to-end tests: the repo, and the offline dataset + backbone beside it."
import os, sys, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get('TWOPHASE_SHARED', ROOT.parent/'shared'))
DATA = Path(os.environ.get('TWOPHASE_DATA', SHARED/'data'/'imagenette4'))
WEIGHTS = Path(os.environ.get('TWOPHASE_WEIGHTS', SHARED/'weights'/'resnet18-fixture.pth'))
BIN = Path(sys.executable).parent

@pytest.fixture(scope='session', autouse=True)
def offline_dirs(tmp_path_factory):
    "Keep fastai/torch caches out of the user's home"
    d = tmp_path_factory.mktemp('homes')
    os.environ.setdefault('FASTAI_HOME', str(d/'fastai')); os.environ.setdefault('TORCH_HOME', str(d/'torch'))

def twophase(*args, cwd=None, timeout=600):
    "Run the installed `twophase` command; return the CompletedProcess"
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore'}
    return subprocess.run([str(BIN/'twophase'), *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout, env=env)
