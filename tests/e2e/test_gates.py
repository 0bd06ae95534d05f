"""Promotion gates end to end: versions registered from real runs, gates declared in cairn.yaml,
`cairn gate` in every format with its exit codes, `cairn model promote` refusing then passing,
--force with and without a reason, `cairn model history` (with --at), and bad input: a rule's
syntax error located in cairn.yaml, a metric the version lacks, a deprecated version, two
promotions at once."""

import datetime
import fcntl
import json
import os
import textwrap
import time
import unittest
import xml.etree.ElementTree as ET

from cairn_testlib import CAIRN_BIN, ERROR, NEGATIVE, OK, CairnTestCase

GATES = """
models:
  retriever:
    gates:
      - metrics.mrr >= 0.70
      - metrics.mrr > production.metrics.mrr     # passes while no version holds production
      - evaluated_on: data/eval@v3
    alias_gates:
      production:
        - approvals: 1
"""


class GatesTestCase(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.env["PATH"] = os.path.dirname(CAIRN_BIN) + os.pathsep + self.env.get("PATH", "")
        self.write("data/eval/queries.jsonl", '{"q": "what is bm25", "relevant": ["d1"]}\n')
        self.ok("add", "data/eval")
        self.ok("tag", "data/eval", "v3")
        self.commit(message="eval data")
        self.models = 0

    def write_yaml(self, text):
        with open(self.path("cairn.yaml"), "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))

    def register(self, mrr, inputs=("data/eval@v3",)):
        """A run that reads `inputs`, logs mrr and an artifact, registered as the next version."""
        self.models += 1
        self.write("model.bin", "weights %d\n" % self.models)
        args = ["run", "-p", "k1=1.2"]
        for i in inputs:
            args += ["-i", i]
        r = self.ok(*args, "--", "sh", "-c", "cairn runs log -m mrr=%s -a model.bin" % mrr)
        run_id = r.stderr.split("cairn: run ", 1)[1].split()[0]
        v = self.json("model", "register", "retriever", "--run", run_id, "--artifact", "model.bin")
        return v["version"]

    def gate(self, *args, code):
        r = self.cairn("gate", *args)
        self.assertEqual(r.returncode, code, self.describe(r))
        return r


class GateCommand(GatesTestCase):

    def test_text_json_junit_markdown_and_exit_codes(self):
        self.write_yaml(GATES)
        low = self.register(0.65)
        high = self.register(0.75)
        r = self.gate("retriever@%d" % low, code=NEGATIVE)
        self.assertIn("metrics.mrr 0.65 >= 0.70: FAIL", r.stdout)
        self.assertIn("metrics.mrr 0.65 > production.metrics.mrr (no version holds production): PASS", r.stdout)
        self.assertIn("evaluated_on data/eval@v3: read data/eval", r.stdout)
        self.assertIn("FAIL (2 of 3 rules passed)", r.stdout)
        self.assertEqual(r.stderr, "")
        self.gate("retriever@%d" % high, code=OK)

        report = json.loads(self.gate("retriever@%d" % low, "--format", "json", code=NEGATIVE).stdout)
        self.assertEqual((report["model"], report["version"], report["passed"], report["failed"]),
                         ("retriever", low, False, 1))
        self.assertEqual([r["outcome"] for r in report["rules"]], ["FAIL", "PASS", "PASS"])
        self.assertEqual([r["line"] for r in report["rules"]], [4, 5, 6])
        self.assertEqual(report["rules"][0]["observations"], [{"operand": "metrics.mrr", "observed": "0.65"}])
        self.assertRegex(report["audit_entry"], "^[0-9a-f]{64}$")

        # With --to, the alias's own rules join in: nobody approved.
        to_prod = json.loads(self.gate("retriever@%d" % high, "--to", "production", "--json", code=NEGATIVE).stdout)
        self.assertEqual(to_prod["target_alias"], "production")
        self.assertEqual(to_prod["rules"][-1]["summary"], "approvals 0 of 1 (registrant excluded): FAIL")

        xml_text = self.gate("retriever@%d" % low, "--format", "junit", code=NEGATIVE).stdout
        root = ET.fromstring(xml_text)
        self.assertEqual(root.tag, "testsuites")
        suites = root.findall("testsuite")
        self.assertEqual(len(suites), 1)
        self.assertEqual((suites[0].get("tests"), suites[0].get("failures")), ("3", "1"))
        cases = suites[0].findall("testcase")
        self.assertEqual([c.get("name") for c in cases],
                         ["metrics.mrr >= 0.70 (cairn.yaml:4)", "metrics.mrr > production.metrics.mrr (cairn.yaml:5)",
                          "evaluated_on: data/eval@v3 (cairn.yaml:6)"])
        failure = cases[0].find("failure")
        self.assertEqual(failure.get("message"), "metrics.mrr 0.65 >= 0.70: FAIL")
        self.assertIsNone(cases[1].find("failure"))

        md = self.gate("retriever@%d" % low, "--format", "markdown", code=NEGATIVE).stdout
        self.assertTrue(md.startswith("### ❌ cairn gate `retriever@%d`: FAIL" % low), md)
        self.assertIn("| ❌ | `metrics.mrr >= 0.70` | metrics.mrr 0.65 | FAIL |", md)
        self.assertIn("| ✅ | `metrics.mrr > production.metrics.mrr` |", md)

        out = self.path("report.xml")
        r = self.gate("retriever@%d" % high, "--format", "junit", "-o", out, "--no-record", code=OK)
        self.assertEqual(r.stdout, "")
        self.assertEqual(ET.parse(out).getroot().find("testsuite").get("failures"), "0")
        # An existing report is replaced only with --force.
        r = self.gate("retriever@%d" % high, "--format", "junit", "-o", out, "--no-record", code=2)
        self.assertIn("report.xml exists: not replaced", r.stderr)
        self.gate("retriever@%d" % high, "--format", "junit", "-o", out, "--no-record", "--force", code=OK)

    def test_evaluated_on_another_version_or_an_unknown_tag_fails(self):
        self.write("data/eval/queries.jsonl", '{"q": "changed", "relevant": ["d2"]}\n')
        self.ok("add", "data/eval")
        self.ok("tag", "data/eval", "v4")
        v = self.register(0.9, inputs=("data/eval@v4",))
        self.write_yaml("""
            models:
              retriever:
                gates:
                  - evaluated_on: data/eval@v3
                  - evaluated_on: data/eval@v9
            """)
        report = json.loads(self.gate("retriever@%d" % v, "--json", code=NEGATIVE).stdout)
        self.assertEqual([r["outcome"] for r in report["rules"]], ["FAIL", "FAIL"])
        self.assertIn("not ", report["rules"][0]["summary"])
        self.assertIn("does not resolve", report["rules"][1]["summary"])

    def test_evaluated_on_needs_an_input_the_run_declared(self):
        self.write_yaml("""
            models:
              retriever:
                gates:
                  - evaluated_on: data/eval@v3
            """)
        # data/eval is checked out when the run starts, but the run never declares it.
        workspace_only = self.register(0.9, inputs=())
        r = self.gate("retriever@%d" % workspace_only, code=NEGATIVE)
        self.assertIn("data/eval@v3 was only checked out when the run started; declare it "
                      "(cairn run -i data/eval@v3, a cairn.yaml dep, or cairn.use_dataset): FAIL", r.stdout)
        shown = self.ok("model", "show", "retriever@%d" % workspace_only).stdout
        self.assertIn("(checked out when the run started, not declared)", shown)
        version = self.json("model", "show", "retriever@%d" % workspace_only, "--json")
        self.assertEqual([(d["dataset"], d["direct"], d["source"]) for d in version["datasets"]],
                         [("data/eval", True, "workspace")])
        # Declared with -i: the same version passes, and shows as read by the run.
        declared = self.register(0.9)
        self.gate("retriever@%d" % declared, code=OK)
        self.assertIn("(read by the run)", self.ok("model", "show", "retriever@%d" % declared).stdout)
        version = self.json("model", "show", "retriever@%d" % declared, "--json")
        self.assertEqual([d["source"] for d in version["datasets"]], ["explicit"])

    def test_path_input_edited_after_checkout_is_modified(self):
        self.write_yaml("""
            models:
              retriever:
                gates:
                  - evaluated_on: data/eval@v3
            """)
        clean = self.register(0.9, inputs=("data/eval",))
        self.gate("retriever@%d" % clean, code=OK)
        # Edited after checkout: -i data/eval names the pointer, but the run reads other data.
        self.write("data/eval/queries.jsonl", '{"q": "edited", "relevant": ["d9"]}\n')
        self.write("model.bin", "weights edited\n")
        r = self.ok("run", "-i", "data/eval", "--", "sh", "-c", "cairn runs log -m mrr=0.9 -a model.bin")
        self.assertIn("data/eval differs from its pointer's version v3", r.stderr)
        run_id = r.stderr.split("cairn: run ", 1)[1].split()[0]
        inputs = self.json("runs", "show", run_id, "--json")["inputs"]
        self.assertEqual([(i["dataset"], i["source"], i.get("modified", False)) for i in inputs],
                         [("data/eval", "explicit", True)])
        v = self.json("model", "register", "retriever", "--run", run_id, "--artifact", "model.bin")["version"]
        r = self.gate("retriever@%d" % v, code=NEGATIVE)
        self.assertIn("(modified)", r.stdout)
        # A version ref is what the run says it read: not checked against the workspace.
        r = self.ok("run", "-i", "data/eval@v3", "--", "true")
        self.assertNotIn("differs", r.stderr)

    def test_unknown_metric_fails_the_rule(self):
        self.write_yaml("""
            models:
              retriever:
                gates:
                  - metrics.ndcg > 0.5
                  - not metrics.ndcg < 0.1
            """)
        v = self.register(0.9)
        r = self.gate("retriever@%d" % v, code=NEGATIVE)
        self.assertIn("metrics.ndcg missing > 0.5: FAIL", r.stdout)
        self.assertIn("not metrics.ndcg missing < 0.1: FAIL", r.stdout)

    def test_syntax_error_names_line_and_column_in_cairn_yaml(self):
        v = self.register(0.9)
        self.write_yaml("""
            models:
              retriever:
                gates:
                  - metrics.mrr >>= 0.70
            """)
        r = self.fails("gate", "retriever@%d" % v, msg="cairn.yaml:4:22: gate rule of model 'retriever': ")
        self.assertIn("  metrics.mrr >>= 0.70\n", r.stderr)
        self.assertIn("\n               ^", r.stderr)
        self.write_yaml("""
            models:
              retriever:
                gates:
                  - "params.k1 = '1.2' and prod.metrics.mrr > 1 and foo.x = 2"
            """)
        self.fails("gate", "retriever@%d" % v, msg=("cairn.yaml:4:57:", "unknown prefix 'foo'"))
        self.write_yaml("""
            models:
              retriever:
                gates:
                  - approval: 1
            """)
        self.fails("gate", "retriever@%d" % v,
                   msg="cairn.yaml:4:9: unknown gate rule kind 'approval' in model 'retriever' (known: approvals, evaluated_on)")

    def test_alias_never_set_fails_the_rule_with_a_did_you_mean(self):
        self.write_yaml("""
            models:
              retriever:
                gates:
                  - metrics.mrr > prodution.metrics.mrr
                  - metrics.mrr > staging.metrics.mrr
            """)
        v1 = self.register(0.8)
        self.ok("model", "alias", "retriever@%d" % v1, "production")
        v2 = self.register(0.9)
        r = self.gate("retriever@%d" % v2, code=NEGATIVE)
        self.assertIn("metrics.mrr 0.9 > prodution.metrics.mrr (alias 'prodution' was never set for retriever "
                      "(did you mean 'production'?)): FAIL", r.stdout)
        self.assertIn("alias 'staging' was never set for retriever", r.stdout)
        # The --to target passes while nobody holds it: its first promotion.
        r = self.gate("retriever@%d" % v2, "--to", "staging", code=NEGATIVE)
        self.assertIn("metrics.mrr 0.9 > staging.metrics.mrr (no version holds staging): PASS", r.stdout)
        # An alias set once and deleted since was this model's: nothing to beat now.
        self.ok("model", "alias", "retriever@%d" % v1, "staging")
        self.ok("model", "alias", "retriever@%d" % v1, "staging", "--delete", "-m", "retired")
        r = self.gate("retriever@%d" % v2, code=NEGATIVE)
        self.assertIn("metrics.mrr 0.9 > staging.metrics.mrr (no version holds staging): PASS", r.stdout)
        self.assertIn("prodution.metrics.mrr (alias 'prodution' was never set", r.stdout)
        # Declared under alias_gates (even with no rules): known before its first promotion.
        self.write_yaml("""
            models:
              retriever:
                gates:
                  - metrics.mrr > canary.metrics.mrr
                alias_gates:
                  canary: []
            """)
        r = self.gate("retriever@%d" % v2, code=OK)
        self.assertIn("(no version holds canary): PASS", r.stdout)

    def test_models_section_without_the_model_warns_and_promote_refuses(self):
        v = self.register(0.9)
        self.write_yaml("""
            models:
              retreiver:
                gates:
                  - metrics.mrr > 0.95
            """)
        warning = ("cairn.yaml declares gates for 'retreiver', which is not a registered model; "
                   "did you mean 'retriever'?")
        r = self.gate("retriever@%d" % v, code=OK)
        self.assertIn("cairn: warning: " + warning, r.stderr)
        report = json.loads(self.gate("retriever@%d" % v, "--json", code=OK).stdout)
        self.assertEqual(report["warnings"], [warning])
        self.assertEqual(report["rules"], [])
        r = self.fails("model", "promote", "retriever@%d" % v, "--to", "production",
                       msg=("not promoting retriever@%d without gates" % v, warning))
        self.assertIn("retriever: {}", r.stderr)
        self.fails("model", "promote", "retriever@%d" % v, "--to", "production", "--force", "--reason", "x",
                   msg="without gates")
        self.assertEqual(self.json("model", "history", "retriever"), [])
        # Declared with no rules: deliberately ungated, promoted.
        self.write_yaml("""
            models:
              retreiver:
                gates:
                  - metrics.mrr > 0.95
              retriever: {}
            """)
        r = self.gate("retriever@%d" % v, code=OK)
        self.assertEqual(r.stderr, "")
        self.ok("model", "promote", "retriever@%d" % v, "--to", "production")
        # No models: section at all: no gates, no warning.
        self.write_yaml("""
            stages: {}
            """)
        r = self.gate("retriever@%d" % v, code=OK)
        self.assertEqual(r.stderr, "")
        self.ok("model", "promote", "retriever@%d" % v, "--to", "staging")

    def test_models_section_leaves_the_pipeline_alone(self):
        self.write_yaml(GATES + """
stages:
  hello:
    cmd: echo hi > hello.txt
    outs: [hello.txt]
""")
        self.ok("repro")
        self.assertTrue(os.path.exists(self.path("hello.txt")))
        self.write_yaml(GATES)
        self.ok("status")

    def test_bad_refs(self):
        self.write_yaml(GATES)
        self.register(0.9)
        self.fails("gate", "nosuch@1", msg="nosuch")
        self.fails("gate", "retriever@7", msg="retriever")
        self.fails("gate", "retriever@1", "--to", "latest")


class Promotion(GatesTestCase):

    def history(self, *args):
        return self.json("model", "history", "retriever", *args)

    def test_promote_refuses_then_passes_force_needs_reason_and_history(self):
        self.write_yaml(GATES)
        low = self.register(0.65)
        high = self.register(0.75)

        r = self.cairn("model", "promote", "retriever@%d" % high, "--to", "production")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("approvals 0 of 1 (registrant excluded): FAIL", r.stdout)
        self.assertIn("production not moved", r.stdout)
        self.assertEqual(self.history(), [])

        self.ok("model", "approve", "retriever@%d" % high, env={"CAIRN_AUTHOR": "Bob <bob@example.com>"})
        moved = self.json("model", "promote", "retriever@%d" % high, "--to", "production", "--reason", "better mrr")
        self.assertEqual((moved["moved"], moved["forced"], moved["version"]), (True, False, high))
        self.assertTrue(moved["report"]["passed"])

        # The low version fails its gates now against production too.
        self.ok("model", "approve", "retriever@%d" % low, env={"CAIRN_AUTHOR": "Bob <bob@example.com>"})
        r = self.cairn("model", "promote", "retriever@%d" % low, "--to", "production")
        self.assertEqual(r.returncode, NEGATIVE, self.describe(r))
        self.assertIn("metrics.mrr 0.65 > production.metrics.mrr 0.75: FAIL", r.stdout)
        self.fails("model", "promote", "retriever@%d" % low, "--to", "production", "--force", msg="--force needs --reason")
        time.sleep(0.05)
        forced = self.json("model", "promote", "retriever@%d" % low, "--to", "production", "--force",
                           "--reason", "rollback for INC-42")
        self.assertEqual((forced["moved"], forced["forced"]), (True, True))

        events = self.history("--alias", "production")
        self.assertEqual([(e["version"], e["previous"], e["action"], e["forced"]) for e in events],
                         [(high, None, "model.promote", False), (low, high, "model.promote", True)])
        self.assertEqual(events[1]["reason"], "rollback for INC-42")
        self.assertEqual(events[0]["reason"], "better mrr")
        self.assertIn("Test User", events[1]["user"])
        text = self.ok("model", "history", "retriever").stdout
        self.assertIn("production  v%d -> v%d  promoted (forced) by Test User" % (high, low), text)
        self.assertIn("rollback for INC-42", text)

        def iso(ms):
            t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
            return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)
        first, second = events[0]["time_ms"], events[1]["time_ms"]
        self.assertLess(first, second)
        self.assertEqual([e["version"] for e in self.history("--at", iso(first))], [high])
        self.assertEqual([e["version"] for e in self.history("--at", iso(second))], [low])
        self.assertEqual(self.history("--at", iso(first - 1)), [])
        self.assertEqual([e["version"] for e in self.history("--at", str(second // 1000 + 1))], [low])
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        self.assertEqual([e["version"] for e in self.history("--at", today)], [low])
        at_text = self.ok("model", "history", "retriever", "--at", iso(first)).stdout
        self.assertIn("production: retriever@%d since " % high, at_text)
        self.fails("model", "history", "retriever", "--at", "yesterday", msg="cannot read the time 'yesterday'")
        self.fails("model", "history", "nosuch", msg="nosuch")

        # The override and the gate results are in the audit log.
        audit = self.path(".cairn/audit")
        self.assertTrue(os.path.isdir(audit))
        log = ""
        for dirpath, _, files in os.walk(audit):
            for name in files:
                with open(os.path.join(dirpath, name), errors="replace") as f:
                    log += f.read()
        self.assertIn('"force"', log)
        self.assertIn("rollback for INC-42", log)
        self.assertIn('"forced":true', log.replace(" ", ""))

    def test_deprecated_version_is_refused_before_the_gates(self):
        self.write_yaml(GATES)
        v = self.register(0.9)
        self.ok("model", "deprecate", "retriever@%d" % v, "-m", "leaked eval data")
        self.fails("model", "promote", "retriever@%d" % v, "--to", "staging", msg=("deprecated", "leaked eval data"))
        self.fails("model", "promote", "retriever@%d" % v, "--to", "staging", "--force", "--reason", "x",
                   msg="deprecated")

    def test_two_promotions_at_once_serialise(self):
        self.write_yaml("""
            models:
              retriever:
                gates:
                  - metrics.mrr > production.metrics.mrr
                alias_gates:
                  production: []    # before its first promotion: known, nothing to beat
            """)
        v = self.register(0.9)
        # While another promotion holds the lock, a promotion waits for it.
        lock_path = self.path(".cairn/promote.lock")
        with open(lock_path, "a+") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            waiting = self.popen("model", "promote", "retriever@%d" % v, "--to", "staging")
            time.sleep(0.5)
            self.assertIsNone(waiting.poll(), "promote did not wait for the promotion lock")
            fcntl.flock(held, fcntl.LOCK_UN)
        out, err = waiting.communicate(timeout=60)
        self.assertEqual(waiting.returncode, OK, out + err)
        # Several at once over "better than production": exactly one moves the alias; the others
        # see it held by the same version, which is not better than itself.
        procs = [self.popen("model", "promote", "retriever@%d" % v, "--to", "production") for _ in range(3)]
        results = [(p.wait(timeout=60), p.communicate()) for p in procs]
        codes = sorted(code for code, _ in results)
        self.assertEqual(codes, [OK, NEGATIVE, NEGATIVE], results)
        events = self.json("model", "history", "retriever", "--alias", "production")
        self.assertEqual(len(events), 1)


if __name__ == "__main__":
    unittest.main()
