"""examples/retrieval: the corpus and evaluation set are well formed, and the
BM25 retriever separates good settings from bad ones the way the demo and the
CI recipes rely on (the best reaches the gate's mrr >= 0.70, others do not),
deterministically. Needs no cairn binary: the stage form reads plain paths."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.normpath(os.path.join(HERE, "..", "..", "examples", "retrieval"))


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class RetrievalExample(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cairn-retrieval-")
        self.addCleanup(self.tmp.cleanup)

    def evaluate(self, chunk_size, top_k, name="run"):
        out = os.path.join(self.tmp.name, name)
        subprocess.run([sys.executable, "retrieve.py", "--chunk-size", str(chunk_size), "--top-k", str(top_k),
                        "--model", out + "-model.json", "--metrics", out + "-metrics.json"],
                       cwd=EXAMPLE, check=True, capture_output=True, text=True)
        with open(out + "-metrics.json") as f:
            metrics = json.load(f)
        with open(out + "-model.json", "rb") as f:
            return metrics, f.read()

    def test_data_is_well_formed(self):
        docs = read_jsonl(os.path.join(EXAMPLE, "data", "corpus.jsonl"))
        queries = read_jsonl(os.path.join(EXAMPLE, "data", "eval.jsonl"))
        ids = [d["id"] for d in docs]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertGreaterEqual(len(docs), 80)
        self.assertGreaterEqual(len(queries), 30)
        self.assertTrue(all(d["title"] and len(d["text"].split()) >= 20 for d in docs))
        self.assertEqual(len({q["qid"] for q in queries}), len(queries))
        for q in queries:
            self.assertTrue(q["relevant"], q["qid"])
            self.assertLessEqual(set(q["relevant"]), set(ids), q["qid"])

    def test_settings_spread_around_the_gate(self):
        best, model = self.evaluate(32, 10, "best")
        worse, _ = self.evaluate(64, 10, "worse")
        bad, _ = self.evaluate(4, 1, "bad")
        self.assertGreaterEqual(best["mrr"], 0.70)
        self.assertGreater(best["mrr"], worse["mrr"])  # the demo's second version fails "better than production"
        self.assertGreaterEqual(worse["mrr"], 0.70)
        self.assertLess(bad["mrr"], 0.70)
        self.assertLess(bad["recall_at_5"], best["recall_at_5"])
        m = json.loads(model)
        self.assertEqual(m["params"]["chunk_size"], 32)
        self.assertEqual(m["documents"], 80)
        self.assertTrue(m["idf"])
        # Deterministic: the same setting writes the same bytes (a pipeline's run cache relies on it).
        self.assertEqual(self.evaluate(32, 10, "again")[1], model)

    def test_bad_params_are_refused(self):
        p = subprocess.run([sys.executable, "retrieve.py", "--chunk-size", "0"], cwd=EXAMPLE,
                           capture_output=True, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("at least 1", p.stderr)


if __name__ == "__main__":
    unittest.main()
