"""BM25 retrieval over a small JSONL corpus, evaluated on queries with known
relevant documents. Python standard library only.

Documents are split into chunks of `chunk_size` words (the title leads every
chunk); BM25 scores chunks, and a document scores as its best chunk. The
`top_k` best documents are returned per query. Reported: recall_at_5 (share of
a query's relevant documents among the first min(5, top_k) results, averaged)
and mrr (1/rank of the first relevant result within the top_k, averaged).

Writes the metrics as JSON and the "model": the parameters plus the idf
table of the chunk index (JSON, deterministic for one corpus and setting).

As a pipeline stage (cairn.yaml; the paths are workspace files):
    python3 retrieve.py --chunk-size ${retrieve.chunk_size} --top-k ${retrieve.top_k}

As a tracked run (dataset refs are read through cairn.use_dataset, which
records them as inputs; params, metrics and the model are logged):
    cairn run -e retrieval -- python3 retrieve.py --corpus corpus@v3 --eval eval@v3 --chunk-size 64 --top-k 10
"""
import argparse
import hashlib
import json
import math
import os
import re
import sys
from collections import Counter

STOPWORDS = set("""a an and are as at be by can do does for from has have how i if in into is it its
my of on or so that the their then there this to too up was what when where which while why will
with you your""".split())
TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text):
    """Lower-case words without stop words, with a light plural/-ing/-ed strip."""
    out = []
    for w in TOKEN.findall(text.lower()):
        if w in STOPWORDS:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(w) > len(suffix) + 3 and w.endswith(suffix):
                w = w[: -len(suffix)]
                break
        out.append(w)
    return out


def read_jsonl(path, what, keys):
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as e:
                sys.exit(f"retrieve: {path}:{n}: not JSON ({e})")
            missing = [k for k in keys if k not in row]
            if missing:
                sys.exit(f"retrieve: {path}:{n}: {what} lacks {', '.join(missing)}")
            rows.append(row)
    if not rows:
        sys.exit(f"retrieve: {path}: no {what}s")
    return rows


class Index:
    """BM25 over fixed-size word chunks of the documents."""

    def __init__(self, docs, chunk_size, k1=1.2, b=0.75):
        self.k1, self.b = k1, b
        self.chunks = []  # (doc id, Counter of terms, length)
        for d in docs:
            title, words = tokens(d.get("title", "")), tokens(d["text"])
            for start in range(0, max(len(words), 1), chunk_size):
                terms = title + words[start:start + chunk_size]
                self.chunks.append((d["id"], Counter(terms), len(terms)))
        df = Counter(t for _, tf, _ in self.chunks for t in tf)
        n = len(self.chunks)
        self.idf = {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}
        self.avgdl = sum(length for _, _, length in self.chunks) / n

    def search(self, query, top_k):
        """The top_k document ids, best first (ties: the smaller id)."""
        q = tokens(query)
        best = {}
        for doc, tf, length in self.chunks:
            norm = self.k1 * (1 - self.b + self.b * length / self.avgdl)
            s = sum(self.idf[t] * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in q if t in tf)
            if s > best.get(doc, 0.0):
                best[doc] = s
        return [d for d, _ in sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]]


def evaluate(index, queries, top_k):
    recall, rr = 0.0, 0.0
    for q in queries:
        ranked = index.search(q["query"], top_k)
        relevant = set(q["relevant"])
        recall += len(relevant.intersection(ranked[:5])) / len(relevant)
        rr += next((1.0 / (i + 1) for i, d in enumerate(ranked) if d in relevant), 0.0)
    n = len(queries)
    return {"recall_at_5": round(recall / n, 6), "mrr": round(rr / n, 6), "queries": n}


def write_json(path, value):
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f, indent=1, sort_keys=True)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="data/corpus.jsonl", help="corpus JSONL (a path, or a dataset ref NAME@TAG)")
    ap.add_argument("--eval", default="data/eval.jsonl", help="evaluation JSONL (a path, or a dataset ref)")
    ap.add_argument("--chunk-size", type=int, default=64, help="words per chunk")
    ap.add_argument("--top-k", type=int, default=10, help="documents returned per query")
    ap.add_argument("--k1", type=float, default=1.2)
    ap.add_argument("--b", type=float, default=0.75)
    ap.add_argument("--model", default="models/retriever.json", help="where the index/config JSON goes")
    ap.add_argument("--metrics", default="metrics.json", help="where the metrics JSON goes")
    ap.add_argument("--track", action="store_true",
                    help="log params, metrics and the model with the cairn module (implied by a dataset ref)")
    args = ap.parse_args()
    if args.chunk_size < 1 or args.top_k < 1:
        sys.exit("retrieve: --chunk-size and --top-k must be at least 1")
    params = {"chunk_size": args.chunk_size, "top_k": args.top_k, "k1": args.k1, "b": args.b}

    def is_ref(s):
        return "@" in s and not os.path.exists(s)

    track = args.track or is_ref(args.corpus) or is_ref(args.eval)
    if track:
        import cairn  # the module built with cairn; under 'cairn run' it attaches to that run
        run = cairn.start_run(params=params)
        run.__enter__()

    def resolve(ref):
        """A file path for `ref`: a dataset ref is materialised (and recorded) by cairn."""
        if not is_ref(ref):
            return ref
        path = cairn.use_dataset(ref)
        if os.path.isdir(path):  # a directory dataset: its only JSONL file
            files = sorted(f for f in os.listdir(path) if f.endswith(".jsonl"))
            if len(files) != 1:
                sys.exit(f"retrieve: {ref} holds {len(files)} .jsonl files; name one")
            path = os.path.join(path, files[0])
        return path

    corpus_path, eval_path = resolve(args.corpus), resolve(args.eval)
    docs = read_jsonl(corpus_path, "document", ("id", "text"))
    queries = read_jsonl(eval_path, "query", ("qid", "query", "relevant"))
    index = Index(docs, args.chunk_size, args.k1, args.b)
    metrics = evaluate(index, queries, args.top_k)
    with open(corpus_path, "rb") as f:
        corpus_sha = hashlib.sha256(f.read()).hexdigest()
    write_json(args.metrics, metrics)
    write_json(args.model, {
        "kind": "bm25-chunks",
        "params": params,
        "corpus_sha256": corpus_sha,
        "documents": len(docs),
        "chunks": len(index.chunks),
        "avg_chunk_length": round(index.avgdl, 6),
        "idf": {t: round(v, 6) for t, v in sorted(index.idf.items())},
    })
    if track:
        cairn.log_metrics({"recall_at_5": metrics["recall_at_5"], "mrr": metrics["mrr"]})
        cairn.log_artifact(args.model)
        run.__exit__(None, None, None)
    print(f"chunk_size={args.chunk_size} top_k={args.top_k}: recall_at_5={metrics['recall_at_5']:.3f} "
          f"mrr={metrics['mrr']:.3f} over {metrics['queries']} queries, {len(index.chunks)} chunks")


if __name__ == "__main__":
    main()
