#!/usr/bin/env python3
# ig_torch.py: the PyTorch side of the README's IG memory comparison, run by hand (tests never need
# Python): Integrated Gradients with 50 steps as Captum batches it (all points in one batch) on the
# Hugging Face BertLayer structure, BERT-base shapes, 128 tokens, one thread; prints time and peak RSS.
import math, os, resource, sys, time
# One thread in every pool: torch.set_num_threads covers torch's OpenMP pool, but Debian's torch runs
# its matrix products in the system BLAS (OpenBLAS's pthread build), whose pool reads this at load.
for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[v] = "1"
import torch
import torch.nn.functional as F
torch.set_num_threads(1)
L, C, H, FF, V, T, steps = 12, 768, 12, 3072, 30522, 128, 50
class HFLayer(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.q, s.k, s.v, s.o = (torch.nn.Linear(C, C) for _ in range(4))
        s.i, s.out = torch.nn.Linear(C, FF), torch.nn.Linear(FF, C)
        s.ln1, s.ln2 = torch.nn.LayerNorm(C), torch.nn.LayerNorm(C)
    def forward(s, x):
        b, t, _ = x.shape
        sp = lambda y: y.view(b, t, H, C // H).permute(0, 2, 1, 3)
        q, k, v = sp(s.q(x)), sp(s.k(x)), sp(s.v(x))
        a = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(C // H)
        c = torch.matmul(F.softmax(a, dim=-1), v).permute(0, 2, 1, 3).reshape(b, t, C)
        h = s.ln1(s.o(c) + x)
        return s.ln2(s.out(F.gelu(s.i(h))) + h)
emb = torch.nn.Embedding(V, C)
layers = torch.nn.ModuleList([HFLayer() for _ in range(L)]).eval()
head = torch.nn.Linear(C, 2)
for p in list(layers.parameters()) + list(head.parameters()) + list(emb.parameters()): p.requires_grad_(False)
ids = torch.randint(1000, V, (1, T))
x = emb(ids)
base = torch.zeros_like(x)
alphas = torch.linspace(0, 1, steps).view(steps, 1, 1)
t0, c0 = time.time(), time.process_time()
pts = (base + alphas * (x - base)).requires_grad_(True)
h = pts
for l in layers: h = l(h)
out = torch.softmax(head(torch.tanh(h[:, 0])), -1)[:, 1].sum()
out.backward()
attr = ((x - base) * pts.grad.mean(0, keepdim=True)).sum(-1)
dt = time.time() - t0
print(f"torch IG-50 base T=128: {dt:.2f} s, {(time.process_time() - c0) / dt:.2f} cores busy, "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024/1024:.2f} GB")
