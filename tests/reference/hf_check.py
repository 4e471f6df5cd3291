#!/usr/bin/env python3
# hf_check.py: offline cross-check of `faith predict` against the Hugging Face module definitions
# written with torch.nn.functional in float64 (run by hand; tests never need Python). Usage:
#   hf_check.py FAITH_BIN MODEL_DIR [--scale S] [--data FILE]
# S > 1 scales the matrices into a harder regime; --data runs `faith predict --data FILE` (one
# batched call over every line, a TAB separating a pair) instead of five random id lists. It
# passes when Faith is within 1e-4 of float64, or no further from it than twice torch's float32.
import json, os, shutil, struct, subprocess, sys, tempfile
import numpy as np
import torch
import torch.nn.functional as F

def read_st(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for k, v in hdr.items():
        if k == '__metadata__':
            continue
        b, e = v['data_offsets']
        assert v['dtype'] == 'F32'
        out[k] = torch.from_numpy(np.frombuffer(data[b:e], dtype='<f4').copy().reshape(v['shape']))
    return out

def write_st(path, tensors):
    hdr, off, blobs = {}, 0, []
    for k, t in tensors.items():
        b = t.numpy().astype('<f4').tobytes()
        hdr[k] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))

def forward(cfg, W, ids, types=None):
    mt = cfg['model_type']
    db = mt == 'distilbert'
    p = mt + '.'
    C = cfg['dim'] if db else cfg['hidden_size']
    H = cfg['n_heads'] if db else cfg['num_attention_heads']
    L = cfg['n_layers'] if db else cfg['num_hidden_layers']
    eps = cfg.get('layer_norm_eps', 1e-12)
    ids = torch.tensor([ids])
    if mt == 'roberta':  # transformers' create_position_ids_from_input_ids
        pad = cfg['pad_token_id']
        mask = ids.ne(pad).int()
        pos = (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + pad
    else:
        pos = torch.arange(ids.shape[1])[None]
    x = F.embedding(ids, W[p + 'embeddings.word_embeddings.weight']) + F.embedding(pos, W[p + 'embeddings.position_embeddings.weight'])
    if not db:
        te = W[p + 'embeddings.token_type_embeddings.weight']
        x = x + (te[0] if types is None else F.embedding(torch.tensor([types]), te))
    x = F.layer_norm(x, (C,), W[p + 'embeddings.LayerNorm.weight'], W[p + 'embeddings.LayerNorm.bias'], eps)
    lin = lambda v, n: F.linear(v, W[n + '.weight'], W[n + '.bias'])
    for l in range(L):
        if db:
            q, k, v, o = ('distilbert.transformer.layer.%d.attention.%s' % (l, s) for s in ('q_lin', 'k_lin', 'v_lin', 'out_lin'))
            l1, f1, f2, l2 = ('distilbert.transformer.layer.%d.%s' % (l, s) for s in ('sa_layer_norm', 'ffn.lin1', 'ffn.lin2', 'output_layer_norm'))
        else:
            b = p + 'encoder.layer.%d.' % l
            q, k, v = b + 'attention.self.query', b + 'attention.self.key', b + 'attention.self.value'
            o, l1, f1, f2, l2 = b + 'attention.output.dense', b + 'attention.output.LayerNorm', b + 'intermediate.dense', b + 'output.dense', b + 'output.LayerNorm'
        sh = lambda t: t.view(1, -1, H, C // H).transpose(1, 2)
        a = torch.softmax(sh(lin(x, q)) @ sh(lin(x, k)).transpose(-1, -2) / (C // H) ** 0.5, dim=-1)
        ctx = (a @ sh(lin(x, v))).transpose(1, 2).reshape(1, -1, C)
        x = F.layer_norm(x + lin(ctx, o), (C,), W[l1 + '.weight'], W[l1 + '.bias'], eps)
        x = F.layer_norm(x + lin(F.gelu(lin(x, f1)), f2), (C,), W[l2 + '.weight'], W[l2 + '.bias'], eps)
    c = x[:, 0]
    if mt == 'bert':
        return lin(torch.tanh(lin(c, 'bert.pooler.dense')), 'classifier')[0]
    if db:
        return lin(torch.relu(lin(c, 'pre_classifier')), 'classifier')[0]
    return lin(torch.tanh(lin(c, 'classifier.dense')), 'classifier.out_proj')[0]

def main():
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument('faith_bin')
    ap.add_argument('model_dir')
    ap.add_argument('--scale', type=float, default=1.0)
    ap.add_argument('--data')
    a = ap.parse_args()
    fbin, src, scale = a.faith_bin, a.model_dir, a.scale
    d = tempfile.mkdtemp()
    for f in os.listdir(src):
        shutil.copy(os.path.join(src, f), d)
    W = read_st(os.path.join(d, 'model.safetensors'))
    g = torch.Generator().manual_seed(0)
    for k in W:
        if W[k].dim() == 2 and scale != 1.0:
            W[k] = W[k] * scale
        elif W[k].dim() == 1 and scale != 1.0:
            W[k] = W[k] + 0.2 * torch.randn(W[k].shape, generator=g)
    write_st(os.path.join(d, 'model.safetensors'), W)
    cfg = json.load(open(os.path.join(d, 'config.json')))
    W64 = {k: v.double() for k, v in W.items()}
    runs = []  # (ids, faith's logits)
    if a.data:
        out = subprocess.run([fbin, 'predict', '--model', d, '--data', a.data, '--json'], check=True,
                             capture_output=True, text=True).stdout
        runs = [(r['ids'], r['logits']) for r in map(json.loads, out.splitlines())]
    else:
        for trial in range(5):
            n = 3 + 7 * trial
            ids = torch.randint(5, cfg['vocab_size'], (n,), generator=g).tolist()
            if cfg['model_type'] == 'roberta' and n > 4:
                ids[3] = cfg['pad_token_id']  # a pad id inside the input: HF's position rule
            out = subprocess.run([fbin, 'predict', '--model', d, '--ids', ','.join(map(str, ids)), '--json'],
                                 check=True, capture_output=True, text=True).stdout
            runs.append((ids, json.loads(out)['logits']))
    worst = worst32 = 0.0
    for ids, logits in runs:
        types = None
        if cfg['model_type'] == 'bert' and a.data:  # a pair's second segment, after the first [SEP]
            sep = ids[-1]
            k = ids.index(sep)
            types = [0] * (k + 1) + [1] * (len(ids) - k - 1)
        got = torch.tensor(logits, dtype=torch.float64)
        want = forward(cfg, W64, ids, types)
        f32 = forward(cfg, W, ids, types).double()
        worst = max(worst, (got - want).abs().max().item())
        worst32 = max(worst32, (f32 - want).abs().max().item())
        if not a.data:
            print('n=%d faith %s torch %s' % (len(ids), got.numpy().round(6), want.numpy().round(6)))
    lens = [len(i) for i, _ in runs]
    print('%d inputs of %d..%d tokens: max |faith - float64| = %.3g, |torch float32 - float64| = %.3g'
          % (len(runs), min(lens), max(lens), worst, worst32))
    shutil.rmtree(d)
    sys.exit(0 if worst < 1e-4 or worst <= 2 * worst32 else 1)

if __name__ == '__main__':
    main()
