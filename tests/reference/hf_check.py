#!/usr/bin/env python3
# hf_check.py: offline cross-check of `faith predict` against the Hugging Face module definitions
# written with torch.nn.functional in float64 (run by hand; tests never need Python). Usage:
#   hf_check.py FAITH_BIN MODEL_DIR [--scale S] [--data FILE [--grads] [--attention]]
# S > 1 scales the matrices into a harder regime; --data runs `faith predict --data FILE` (one
# batched call over every line, a TAB separating a pair) instead of five random id lists, and
# --grads also `faith explain --explainer grad_x_input` on each line (the gradient of a logit and
# of a log-probability dotted with each token's word embedding), against torch's autograd, and
# --attention the explainers that read attention (`attention` of the first and the last layer,
# `attention_rollout`, `attention_x_gradient` of a logit) against the same from torch. It
# passes when Faith is within 1e-4 of float64 (scores: 1e-5 of each input's largest), or no
# further from it than twice torch's float32.
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

def forward(cfg, W, ids, types=None, pos_src=None, atts=None):
    """Logits of one sequence; pos_src: the ids RoBERTa's positions come from, when not ids; atts:
    a list that receives each layer's attention probabilities (1, H, T, T), gradients kept."""
    mt = cfg['model_type']
    db = mt == 'distilbert'
    p = mt + '.'
    C = cfg['dim'] if db else cfg['hidden_size']
    H = cfg['n_heads'] if db else cfg['num_attention_heads']
    L = cfg['n_layers'] if db else cfg['num_hidden_layers']
    eps = cfg.get('layer_norm_eps', 1e-12)
    src = torch.tensor([ids if pos_src is None else pos_src])
    ids = torch.tensor([ids])
    if mt == 'roberta':  # transformers' create_position_ids_from_input_ids
        pad = cfg['pad_token_id']
        mask = src.ne(pad).int()
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
        if atts is not None:
            if a.requires_grad:
                a.retain_grad()
            atts.append(a)
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
    ap.add_argument('--grads', action='store_true')
    ap.add_argument('--attention', action='store_true')
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
        lines = [l.rstrip('\n').partition('\t') for l in open(a.data, encoding='utf-8') if l.strip()]
        for r, (text, _, pair) in zip(map(json.loads, out.splitlines()), lines):
            ids, types = r['ids'], None
            if cfg['model_type'] == 'bert':  # a pair's second segment, after the first [SEP]
                k = ids.index(ids[-1])
                types = [0] * (k + 1) + [1] * (len(ids) - k - 1)
            runs.append((ids, r['logits'], text, pair, types))
    else:
        for trial in range(5):
            n = 3 + 7 * trial
            ids = torch.randint(5, cfg['vocab_size'], (n,), generator=g).tolist()
            if cfg['model_type'] == 'roberta' and n > 4:
                ids[3] = cfg['pad_token_id']  # a pad id inside the input: HF's position rule
            out = subprocess.run([fbin, 'predict', '--model', d, '--ids', ','.join(map(str, ids)), '--json'],
                                 check=True, capture_output=True, text=True).stdout
            runs.append((ids, json.loads(out)['logits'], None, None, None))

    def explain(name, text, pair, ids, output='logit', params=()):
        """faith explain's scores for one data line (target class 1), as float64."""
        cmd = [fbin, 'explain', '--model', d, '--explainer', name, '--text', text, '--target', '1',
               '--output', output, '--json'] + (['--pair', pair] if pair else [])
        for p in params:
            cmd += ['--param', p]
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        assert r['ids'] == ids
        return torch.tensor(r['scores'], dtype=torch.float64)

    worst = worst32 = 0.0
    for ids, logits, _, _, types in runs:
        got = torch.tensor(logits, dtype=torch.float64)
        want = forward(cfg, W64, ids, types)
        f32 = forward(cfg, W, ids, types).double()
        worst = max(worst, (got - want).abs().max().item())
        worst32 = max(worst32, (f32 - want).abs().max().item())
        if not a.data:
            print('n=%d faith %s torch %s' % (len(ids), got.numpy().round(6), want.numpy().round(6)))
    lens = [len(r[0]) for r in runs]
    print('%d inputs of %d..%d tokens: max |faith - float64| = %.3g, |torch float32 - float64| = %.3g'
          % (len(runs), min(lens), max(lens), worst, worst32))
    ok = worst < 1e-4 or worst <= 2 * worst32
    if a.data and a.grads:
        gw = gw32 = gmax = 0.0
        for ids, _, text, pair, types in runs:
            for output in ('logit', 'logprob'):
                got = explain('grad_x_input', text, pair, ids, output)
                want, want32 = (grad_x_input(cfg, Wx, ids, types, output) for Wx in (W64, W))
                big = want.abs().max().item()  # errors relative to the input's largest score
                gw = max(gw, (got - want).abs().max().item() / big)
                gw32 = max(gw32, (want32 - want).abs().max().item() / big)
                gmax = max(gmax, big)
        print('grad_x_input of a logit and a log-probability: max |faith - float64| = %.3g, |torch float32 - '
              'float64| = %.3g, relative to each input\'s largest score (up to %.3g)' % (gw, gw32, gmax))
        ok = ok and (gw < 1e-5 or gw <= 2 * gw32)
    if a.data and a.attention:
        aw = {}
        for ids, _, text, pair, types in runs:
            got = {'attention': explain('attention', text, pair, ids),
                   'attention layer 0': explain('attention', text, pair, ids, params=['layer=0']),
                   'attention_rollout': explain('attention_rollout', text, pair, ids),
                   'attention_x_gradient': explain('attention_x_gradient', text, pair, ids)}
            for k in W64:
                W64[k].requires_grad_(True)
            atts = []
            forward(cfg, W64, ids, types, None, atts)[1].backward()
            T = len(ids)
            eye = torch.eye(T, dtype=torch.float64)
            roll, rel = eye.clone(), eye.clone()
            for att in atts:  # the definitions in the README's explainer table
                m = 0.5 * att[0].detach().mean(0) + 0.5 * eye
                roll = (m / m.sum(-1, keepdim=True)) @ roll
                rel = rel + (att.grad[0] * att[0].detach()).clamp(min=0).mean(0) @ rel
            want = {'attention': atts[-1][0].detach().mean(0)[0], 'attention layer 0': atts[0][0].detach().mean(0)[0],
                    'attention_rollout': roll[0], 'attention_x_gradient': rel[0]}
            for k in W64:
                W64[k].requires_grad_(False)
                W64[k].grad = None
            for key in want:
                e = (got[key] - want[key]).abs().max().item() / want[key].abs().max().item()
                aw[key] = max(aw.get(key, 0.0), e)
        print('attention explainers, max |faith - float64| relative to each input\'s largest score: ' +
              ', '.join('%s %.3g' % kv for kv in aw.items()))
        ok = ok and all(v < 1e-5 for v in aw.values())
    shutil.rmtree(d)
    sys.exit(0 if ok else 1)


def grad_x_input(cfg, W, ids, types, output):
    """Per token: d(output of class 1)/d(its word embedding) . that embedding, by autograd. Each
    position reads its own copy of its row (appended to the table), so repeated ids stay apart;
    RoBERTa's positions still come from the real ids (a pad id among them counts)."""
    name = cfg['model_type'] + '.embeddings.word_embeddings.weight'
    V = W[name].shape[0]
    x = W[name][torch.tensor(ids)].detach().clone().requires_grad_(True)
    logits = forward(cfg, dict(W, **{name: torch.cat([W[name], x])}), [V + j for j in range(len(ids))], types, ids)
    y = logits[1] if output == 'logit' else torch.log_softmax(logits, -1)[1]
    y.backward()
    return (x.grad * x.detach()).sum(-1).double()


if __name__ == '__main__':
    main()
