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

Learning, step by step (bench/parity.ts drives this):
  --ids FILE        train on these symbol ids (int32, little-endian) instead of --text, with
                    --vocab V symbols: the engine's own encoding of the same text, so both see the
                    same batches
  --steps N         train exactly N optimiser steps instead of --seconds of wall time
  --init FILE       start from these weights (LSTM Lab's parameter layout, written by parity.ts:
                    FILE is a JSON manifest, FILE.bin the float32 values) instead of PyTorch's
                    default initialisation; the recurrent bias the engine does not have (bias_hh of
                    LSTM and RNN) is then held at zero, so both optimise the same parameters
  --save FILE       write the trained weights back in the engine's layout (bias_ih + bias_hh)
  --log FILE        one JSON line per step: {"step","loss","gradNorm"} (gradNorm before clipping)
"""

import argparse
import json
import re
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description="PyTorch peer for the LSTM Lab benchmark.")
    p.add_argument("--text", help="UTF-8 text file to train on")
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
    p.add_argument("--ids", help="int32 little-endian symbol ids to train on (instead of --text)")
    p.add_argument("--vocab", type=int, default=0, help="vocabulary size of --ids")
    p.add_argument("--steps", type=int, default=0, help="train exactly N steps (0 = --seconds)")
    p.add_argument("--init", help="initial weights in LSTM Lab's layout (manifest JSON + .bin)")
    p.add_argument("--save", help="write the trained weights in LSTM Lab's layout here")
    p.add_argument("--log", help="per-step JSON lines (loss, gradient norm) to this file")
    a = p.parse_args(argv)
    if a.text is None and a.ids is None:
        p.error("give --text FILE or --ids FILE")
    if a.ids is not None and a.vocab < 2:
        p.error("--ids needs --vocab V (at least 2)")
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

    if args.ids is not None:
        import array
        raw = array.array("i")
        with open(args.ids, "rb") as f:
            raw.frombytes(f.read())
        if sys.byteorder != "little":
            raw.byteswap()
        V = args.vocab
        ids = torch.tensor(raw, dtype=torch.long)
        if len(ids) and (int(ids.min()) < 0 or int(ids.max()) >= V):
            sys.exit(f"peer.py: --ids holds symbols outside 0..{V - 1}")
    else:
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
    if args.init:
        load_engine_weights(torch, model, args)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=args.lr)
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
        norm = nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], args.clip)
        opt.step()
        last_loss = loss.item()
        if log is not None:
            log.write(json.dumps({"step": steps_done[0] + 1, "loss": last_loss, "gradNorm": float(norm)}) + "\n")
        steps_done[0] += 1

    log = open(args.log, "w") if args.log else None
    steps_done = [0]
    model.train()
    if args.steps > 0:  # a fixed number of steps, every one logged: the learning curve
        t0 = time.perf_counter()
        for _ in range(args.steps):
            train_step()
        steps = args.steps
        elapsed = time.perf_counter() - t0
    else:
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
    if log is not None:
        log.close()
    if args.save:
        save_engine_weights(torch, model, args)

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


# LSTM Lab's parameter layout (src/engine/model.ts): l{k}.wx [In, G·H], l{k}.wh [H, G·H], l{k}.b,
# l{k}.bh (GRU), embed [V, E], out.w [H, V], out.b [V]; gate blocks LSTM [i|f|g|o] (PyTorch's order),
# GRU [z|r|n] (PyTorch: [r|z|n]). PyTorch's weights are the transposes.

def gate_order(model_kind, H):
    """Indices that take LSTM Lab's gate rows to PyTorch's (the same map both ways for GRU's swap)."""
    import torch
    if model_kind != "gru":
        return None
    return torch.cat([torch.arange(H, 2 * H), torch.arange(0, H), torch.arange(2 * H, 3 * H)])


def read_manifest(path):
    with open(path) as f:
        manifest = json.load(f)
    import array
    data = array.array("f")
    with open(path + ".bin", "rb") as f:
        data.frombytes(f.read())
    return manifest, data


def load_engine_weights(torch, model, args):
    manifest, data = read_manifest(args.init)
    H = args.hidden
    perm = gate_order(args.model, H)

    def get(name):
        spec = manifest["params"][name]
        n = 1
        for d in spec["shape"]:
            n *= d
        return torch.tensor(data[spec["offset"]:spec["offset"] + n], dtype=torch.float32).view(*spec["shape"])

    def gates(t):  # [.., G·H] engine → [G·H, ..] torch rows
        t = t.t() if t.dim() == 2 else t
        return t[perm] if perm is not None else t

    with torch.no_grad():
        if model.embed is not None:
            model.embed.weight.copy_(get("embed"))
        for k in range(args.layers):
            getattr(model.rnn, f"weight_ih_l{k}").copy_(gates(get(f"l{k + 1}.wx")))
            getattr(model.rnn, f"weight_hh_l{k}").copy_(gates(get(f"l{k + 1}.wh")))
            getattr(model.rnn, f"bias_ih_l{k}").copy_(gates(get(f"l{k + 1}.b")))
            bias_hh = getattr(model.rnn, f"bias_hh_l{k}")
            if args.model == "gru":
                bias_hh.copy_(gates(get(f"l{k + 1}.bh")))
            else:  # the engine has one bias: hold the second at zero
                bias_hh.zero_()
                bias_hh.requires_grad_(False)
        model.out.weight.copy_(get("out.w").t())
        model.out.bias.copy_(get("out.b"))


def save_engine_weights(torch, model, args):
    H = args.hidden
    perm = gate_order(args.model, H)
    params = {}

    def back(t):  # torch rows [G·H, ..] → engine [.., G·H]
        t = t.detach()
        if perm is not None:
            t = t[perm]
        return t.t().contiguous() if t.dim() == 2 else t.contiguous()

    if model.embed is not None:
        params["embed"] = model.embed.weight.detach()
    for k in range(args.layers):
        params[f"l{k + 1}.wx"] = back(getattr(model.rnn, f"weight_ih_l{k}"))
        params[f"l{k + 1}.wh"] = back(getattr(model.rnn, f"weight_hh_l{k}"))
        b_ih = getattr(model.rnn, f"bias_ih_l{k}")
        b_hh = getattr(model.rnn, f"bias_hh_l{k}")
        if args.model == "gru":
            params[f"l{k + 1}.b"] = back(b_ih)
            params[f"l{k + 1}.bh"] = back(b_hh)
        else:
            params[f"l{k + 1}.b"] = back(b_ih + b_hh)
    params["out.w"] = model.out.weight.detach().t().contiguous()
    params["out.b"] = model.out.bias.detach()
    import array
    manifest = {"params": {}}
    blob = array.array("f")
    for name, t in params.items():
        manifest["params"][name] = {"shape": list(t.shape), "offset": len(blob)}
        blob.extend(t.reshape(-1).tolist())
    with open(args.save, "w") as f:
        json.dump(manifest, f)
    with open(args.save + ".bin", "wb") as f:
        f.write(blob.tobytes())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
