"""Tags that name another dataset's version, through the real binary."""
import os
import unittest

import craft
from cairn_testlib import ERROR
from test_remote import RemoteTestCase


class WrongDatasetTag(RemoteTestCase):
    """A remote tag of data/raw whose version is data/other's."""

    def setUp(self):
        super().setUp()
        self.write("data/raw/a.txt", "raw\n")
        self.write("data/other/a.txt", "other\n")
        self.raw = self.add1("data/raw")["version"]
        self.other = self.add1("data/other")["version"]
        self.ok("tag", "data/raw", "v1")
        self.ok("tag", "data/other", "v1")
        self.commit()
        self.push()
        self.bad_tag = craft.tag(self.other.split(":")[1])
        craft._write(self.remote, "refs/tags/data%2Fraw/v2", self.bad_tag)

    def test_fetch_skips_it_with_a_warning(self):
        clone = self.clone()
        rep = self.fetch(cwd=clone)
        self.assertTrue(any("data/raw@v2" in w and "data/other" in w for w in rep["warnings"]), rep)
        tags = {(t["dataset"], t["tag"]) for t in self.json("tag", "--list", cwd=clone)}
        self.assertIn(("data/raw", "v1"), tags)
        self.assertNotIn(("data/raw", "v2"), tags)

    def test_checkout_refuses_a_tag_that_names_another_dataset(self):
        # A tag imported before the fix (or written by hand).
        d = os.path.join(self.cairn_dir, "refs", "tags", "data%2Fraw")
        with open(os.path.join(d, "v2"), "wb") as f:
            f.write(self.bad_tag)
        before = self.pointer_bytes("data/raw")
        r = self.cairn("checkout", "data/raw@v2")
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertIn("data/other", r.stderr)
        self.assertIn("data/raw", r.stderr)
        self.assertEqual(self.pointer_bytes("data/raw"), before, "the pointer was rewritten")
        self.assertEqual(self.read("data/raw/a.txt"), b"raw\n")


if __name__ == "__main__":
    unittest.main()
