#!/usr/bin/env python3
"""The PyTorch peer of LSTM Lab's benchmark (`lstm-lab bench`, src/cli/bench.ts).

Trains and samples the same character-level language model as LSTM Lab, written the way a
competent PyTorch user would write it, and reports its speed on this machine:

  input     one-hot characters (F.one_hot, as LSTM Lab's default `embedding: 0`), or
            nn.Embedding(V, E) with --embedding E > 0
  recurrent nn.LSTM / nn.GRU / nn.RNN(tanh), num_layers = --layers, batch_first=False
  output    nn.Linear(H, V);  loss nn.CrossEntropyLoss (mean over the T·B predictions)
  training  Adam (lr 2e-3), clip_grad_norm_(5), truncated BPTT over B parallel contiguous streams:
            the text is cut into B equal streams, batch i holds characters [i·T, (i+1)·T] of every
            stream (time-major [T, B]), and the hidden state is carried from batch to batch,
            detached; it restarts at zero when the streams wrap around.

Measures
  trainCharsPerSec  B·T characters per optimiser step, over `--seconds` of wall time after
                    `--warmup` untimed steps
  inferCharsPerSec  batch-1 generation: feed one character, sample the next from the softmax
                    (temperature 1), carry the state; `--infer-chars` characters under no_grad

Run (Debian's torch lives in /usr/bin/python3):
  OPENBLAS_NUM_THREADS=2 /usr/bin/python3 bench/peer.py --text FILE --layers 2 --hidden 128 \\
      --seq 64 --batch 32 --seconds 20 --warmup 3 --infer-chars 3000 --json
With --json it prints one JSON line: {"engine":"pytorch","torch",...,"trainCharsPerSec",...}.
Without torch it prints {"engine":"pytorch","skipped":"<reason>"} and exits 0.
"""

import argparse
import json
import re
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description="PyTorch peer for the LSTM Lab benchmark.")
    p.add_argument("--text", required=True, help="UTF-8 text file to train on")
    p.add_argument("--model", choices=["lstm", "gru", "rnn"], default="lstm")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--embedding", type=int, default=0, help="0 = one-hot input (LSTM Lab's default)")
    p.add_argument("--seq", type=int, default=64, help="BPTT length T")
    p.add_argument("--batch", type=int, default=32, help="parallel streams B")
    p.add_argument("--seconds", type=float, default=20.0, help="timed training wall time")
    p.add_argument("--warmup", type=int, default=3, help="untimed training steps first")
    p.add_argument("--infer-chars", type=int, default=3000, help="characters generated at batch 1")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON line only")
    a = p.parse_args(argv)
    for name in ("layers", "hidden", "seq", "batch", "threads"):
        if getattr(a, name) < 1:
            p.error(f"--{name} must be at least 1")
    if a.embedding < 0 or a.warmup < 0 or a.infer_chars < 0 or a.seconds <= 0:
        p.error("--embedding, --warmup and --infer-chars must be >= 0 and --seconds > 0")
    return a


def blas_summary(torch):
    """What torch.__config__.show() says about BLAS, e.g. 'generic' (Debian: the system libblas)."""
    info = torch.__config__.show()
    m = re.search(r"\bBLAS_INFO=([^,\s]+)", info)
    if m:
        return m.group(1)
    return "mkl" if "Intel(R) Math Kernel Library" in info else "unknown"


def blas_library():
    """The BLAS shared library actually mapped into this process (Linux), or None."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/" in line}
    except OSError:
        return None
    hits = sorted(p for p in paths if any(k in p.rsplit("/", 1)[-1].lower() for k in ("blas", "mkl_rt", "blis")))
    return ", ".join(hits) if hits else None


def main(argv):
    args = parse_args(argv)
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except Exception as e:  # ImportError, or a broken install raising something else
        print(json.dumps({"engine": "pytorch", "skipped": f"cannot import torch: {type(e).__name__}: {e}"}))
        return 0

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set
    torch.manual_seed(args.seed)

    try:
        with open(args.text, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        with open(args.text, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError as e:
        sys.exit(f"peer.py: cannot read --text {args.text}: {e}")

    # Vocabulary: the distinct characters (code points) of the text.
    chars = sorted(set(text))
    V = len(chars)
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    T, B = args.seq, args.batch
    per_stream = len(ids) // B
    if per_stream < T + 1:
        sys.exit(f"peer.py: text of {len(ids)} characters is too short for {B} streams of {T + 1}")
    streams = ids[: per_stream * B].view(B, per_stream).t().contiguous()  # [per_stream, B]

    class CharLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(V, args.embedding) if args.embedding > 0 else None
            cell = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[args.model]
            extra = {"nonlinearity": "tanh"} if args.model == "rnn" else {}
            self.rnn = cell(args.embedding or V, args.hidden, num_layers=args.layers, batch_first=False, **extra)
            self.out = nn.Linear(args.hidden, V)

        def forward(self, x, state):  # x [T, B] → logits [T, B, V]
            inp = self.embed(x) if self.embed is not None else F.one_hot(x, V).float()
            h, state = self.rnn(inp, state)
            return self.out(h), state

    def detach(state):
        if state is None:
            return None
        return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()

    model = CharLM()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    pos = 0
    state = None
    last_loss = float("nan")

    def train_step():
        nonlocal pos, state, last_loss
        if pos + T + 1 > per_stream:  # wrap around: the streams restart, and so does the state
            pos, state = 0, None
        x = streams[pos : pos + T]
        y = streams[pos + 1 : pos + T + 1]
        pos += T
        logits, state = model(x, detach(state))
        loss = loss_fn(logits.reshape(-1, V), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        last_loss = loss.item()

    model.train()
    for _ in range(args.warmup):
        train_step()
    steps = 0
    t0 = time.perf_counter()
    elapsed = 0.0
    while elapsed < args.seconds or steps < 2:
        train_step()
        steps += 1
        elapsed = time.perf_counter() - t0
    train_cps = steps * T * B / elapsed

    # Batch-1 generation: feed a character, sample the next, carry the state.
    model.eval()
    gen = torch.Generator().manual_seed(args.seed)
    infer_cps = None
    with torch.no_grad():
        x = streams[0:1, 0:1]  # [1, 1]
        state = None
        for _ in range(10):  # untimed warm-up
            logits, state = model(x, state)
            x = torch.multinomial(F.softmax(logits[0, 0], dim=-1), 1, generator=gen).view(1, 1)
        if args.infer_chars > 0:
            t1 = time.perf_counter()
            for _ in range(args.infer_chars):
                logits, state = model(x, state)
                x = torch.multinomial(F.softmax(logits[0, 0], dim=-1), 1, generator=gen).view(1, 1)
            infer_cps = args.infer_chars / (time.perf_counter() - t1)

    result = {
        "engine": "pytorch",
        "torch": torch.__version__,
        "blas": blas_summary(torch),
        "blasLibrary": blas_library(),
        "threads": torch.get_num_threads(),
        "model": args.model,
        "layers": args.layers,
        "hidden": args.hidden,
        "embedding": args.embedding,
        "seq": T,
        "batch": B,
        "trainCharsPerSec": round(train_cps, 1),
        "inferCharsPerSec": None if infer_cps is None else round(infer_cps, 1),
        "steps": steps,
        "trainSeconds": round(elapsed, 3),
        "finalLoss": round(last_loss, 4),
        "vocab": V,
        "chars": len(ids),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"pytorch {result['torch']} (BLAS {result['blas']}, {result['blasLibrary']}), {args.model} "
              f"{args.layers}x{args.hidden}, seq {T}, batch {B}, vocab {V}")
        print(f"  train: {train_cps:,.0f} chars/s ({steps} steps in {elapsed:.1f} s, final loss {last_loss:.3f})")
        if infer_cps is not None:
            print(f"  batch-1 inference: {infer_cps:,.0f} chars/s ({args.infer_chars} chars)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
