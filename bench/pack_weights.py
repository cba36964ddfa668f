"Lossless, smaller weights for a trip to a lent GPU machine (bench/gpu_study.sh): float32 tensors split into byte planes, xz-compressed (a ResNet-18 state_dict: 45 -> 38 MB). python bench/pack_weights.py pack|unpack SRC DST"
import sys, json, lzma, numpy as np, torch
from pathlib import Path
def pack(src, dst):
    sd = torch.load(src, map_location='cpu', weights_only=True)
    meta, bufs = [], []
    for k, v in sd.items():
        a = v.contiguous().numpy(); meta.append((k, str(a.dtype), list(a.shape))); bufs.append(a.reshape(-1).view(np.uint8))
    raw = np.concatenate(bufs); n4 = len(raw) // 4 * 4
    planes = raw[:n4].reshape(-1, 4)
    Path(dst).write_bytes(b''.join([json.dumps(dict(meta=meta, n=len(raw))).encode().ljust(65536),
        lzma.compress(b''.join(planes[:, i].tobytes() for i in range(4)) + raw[n4:].tobytes(), preset=9 | lzma.PRESET_EXTREME)]))
def unpack(src, dst):
    b = Path(src).read_bytes(); head = json.loads(b[:65536].decode().rstrip())
    body = np.frombuffer(lzma.decompress(b[65536:]), np.uint8); n = head['n']; n4 = n // 4 * 4; q = n4 // 4
    raw = np.concatenate([np.stack([body[i*q:(i+1)*q] for i in range(4)], 1).ravel(), body[n4:]])
    sd, o = {}, 0
    for k, dt, shape in head['meta']:
        size = int(np.prod(shape)) * np.dtype(dt).itemsize
        sd[k] = torch.from_numpy(raw[o:o+size].copy().view(dt).reshape(shape)); o += size
    torch.save(sd, dst)
if __name__ == '__main__': (pack if sys.argv[1] == 'pack' else unpack)(sys.argv[2], sys.argv[3])
