"""Python's cairn.use_model: a registered model version's artifact as a read-only local path,
made once per version object under .cairn/models/, recorded as an input of the active run
(model:NAME, the version object, the alias used). Also MLflow's model URIs
(models:/NAME@ALIAS, models:/NAME/3), and bad refs raising CairnError with the accepted forms.
"""

import os
import stat
import unittest

from cairn_testlib import CAIRN_BIN
from test_python_api import PythonApiTestCase


class UseModelTest(PythonApiTestCase):

    def register(self, files):
        """A run logging `files` ({path: bytes}) under model/; registers that directory as
        version N of 'retriever'; returns the version's JSON."""
        for rel, data in files.items():
            self.write("model/" + rel, data)
        r = self.ok("run", "--", "sh", "-c", "%s runs log -m mrr=0.8 -a model" % CAIRN_BIN)
        run = r.stderr.split("cairn: run ", 1)[1].split()[0]
        return self.json("model", "register", "retriever", "--run", run, "--artifact", "model")

    def test_use_model_materialises_once_and_records_the_input(self):
        v1 = self.register({"weights.bin": b"W1", "config.json": b"{}"})
        self.register({"weights.bin": b"W2", "config.json": b"{}"})
        self.ok("model", "alias", "retriever@1", "production")
        res = self.pyjson("""
            with cairn.start_run() as run:
                p = cairn.use_model("retriever@production")
                q = cairn.use_model("models:/retriever/2")
                again = cairn.use_model("model:retriever@1")
                mlflow_alias = cairn.use_model("models:/retriever@production")
                out({"run": run.info.run_id, "p": p, "q": q, "again": again, "mlflow": mlflow_alias,
                     "w": open(os.path.join(p, "weights.bin"), "rb").read().decode(),
                     "w2": open(os.path.join(q, "weights.bin"), "rb").read().decode()})
        """)
        self.assertEqual((res["w"], res["w2"]), ("W1", "W2"))
        self.assertEqual(res["p"], res["again"])
        self.assertEqual(res["p"], res["mlflow"])
        cache = os.path.join(self.repo, ".cairn", "models", v1["object"].split(":")[1])
        self.assertTrue(res["p"].startswith(cache), res["p"])
        self.assertTrue(os.path.isfile(os.path.join(cache, "provenance.json")))
        mode = os.stat(os.path.join(res["p"], "weights.bin")).st_mode
        self.assertFalse(mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), oct(mode))

        inputs = self.show(res["run"])["inputs"]
        models = [i for i in inputs if i["dataset"] == "model:retriever"]
        # One input per version: the first use's alias stays.
        self.assertEqual({(i["version"], i["tag"]) for i in models},
                         {(v1["object"], "production"), (self.json("model", "show", "retriever@2")["object"], "v2")})

    def test_bad_refs_raise_with_the_accepted_forms(self):
        self.register({"weights.bin": b"W1"})
        res = self.pyjson("""
            errors = {}
            for ref in ["nosuch@production", "retriever@staging", "models:/retriever/Production", "models:/x", ""]:
                try:
                    cairn.use_model(ref)
                    errors[ref] = None
                except cairn.CairnError as e:
                    errors[ref] = str(e)
            out(errors)
        """)
        self.assertIn("nosuch", res["nosuch@production"])
        self.assertIn("staging", res["retriever@staging"])
        self.assertIn("aliases, not MLflow stages", res["models:/retriever/Production"])
        self.assertIn("models:/NAME@ALIAS", res["models:/x"])
        self.assertIsNotNone(res[""])


if __name__ == "__main__":
    unittest.main()
