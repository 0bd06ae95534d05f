"""cairn checkout: a path that changes type (file <-> directory) between
versions, and recovery from a checkout killed half-way."""

import os
import shutil
import unittest

from cairn_testlib import CairnTestCase, ERROR


class FileBecomesDirectory(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.write("data/f", "one\n")
        self.add1("data/f")
        self.ok("tag", "data/f", "asfile")
        os.remove(self.path("data/f"))
        self.write("data/f/x", "x\n")
        self.add1("data/f")
        self.ok("tag", "data/f", "asdir")
        self.ok("checkout", "data/f@asfile")
        self.assertTrue(os.path.isfile(self.path("data/f")))

    def test_a_clean_file_is_replaced_by_the_directory(self):
        self.ok("checkout", "data/f@asdir")
        self.assertEqual(self.read("data/f/x"), b"x\n")
        self.ok("checkout", "data/f@asfile")
        self.assertEqual(self.read("data/f"), b"one\n")

    def test_plain_checkout_after_switching_the_pointer(self):
        self.ok("checkout", "data/f@asdir")
        saved = self.pointer_bytes("data/f")
        self.ok("checkout", "data/f@asfile")
        with open(self.path("data/f.cairn"), "wb") as fh:
            fh.write(saved)
        self.ok("checkout")
        self.assertEqual(self.read("data/f/x"), b"x\n")

    def test_an_unrecorded_file_in_the_way_needs_force(self):
        os.chmod(self.path("data/f"), 0o644)
        self.write("data/f", "not recorded\n")
        r = self.cairn("checkout", "data/f@asdir")
        self.assertEqual(r.returncode, ERROR, self.describe(r))
        self.assertEqual(self.read("data/f"), b"not recorded\n")
        self.ok("checkout", "data/f@asdir", "--force")
        self.assertEqual(self.read("data/f/x"), b"x\n")


class KilledCheckout(CairnTestCase):
    """The state a `cairn checkout data/d@v3` killed half-way from v1 leaves:
    the pointer names v3, h1 is v3's, h2 still v1's, h4 (new in v3) is
    half-written in place and listed in the journal."""

    def setUp(self):
        super().setUp()
        for i in (1, 2, 3):
            self.write("data/d/h%d" % i, "one %d\n" % i)
        self.write("data/e/x", "e\n")
        self.add1("data/e")
        self.add1("data/d")
        self.ok("tag", "data/d", "v1")
        for i in (1, 2, 3, 4):
            self.write("data/d/h%d" % i, "three %d\n" % i)
        self.add1("data/d")
        self.ok("tag", "data/d", "v3")
        v3_pointer = self.pointer_bytes("data/d")
        self.ok("checkout", "data/d@v1")
        with open(self.path("data/d.cairn"), "wb") as f:
            f.write(v3_pointer)
        for rel, data in (("data/d/h1", "three 1\n"), ("data/d/h4", "thr")):
            if os.path.exists(self.path(rel)):
                os.chmod(self.path(rel), 0o644)
            self.write(rel, data)
        with open(os.path.join(self.cairn_dir, "tmp", "checkout-journal"), "w") as f:
            f.write("data/d/h4\n")

    def assert_files(self, want):
        got = {}
        for name in sorted(os.listdir(self.path("data/d"))):
            got[name] = self.read("data/d/" + name).decode()
        self.assertEqual(got, want)

    def test_an_unrelated_checkout_keeps_the_journal(self):
        self.ok("checkout", "data/e@latest")
        self.ok("checkout")
        self.assert_files({"h%d" % i: "three %d\n" % i for i in (1, 2, 3, 4)})
        self.assertFalse(os.path.exists(os.path.join(self.cairn_dir, "tmp", "checkout-journal")))

    def test_retrying_the_old_version_needs_no_force(self):
        self.ok("checkout", "data/d@v1")
        self.assert_files({"h%d" % i: "one %d\n" % i for i in (1, 2, 3)})

    def test_unrecorded_content_still_refuses(self):
        os.chmod(self.path("data/d/h2"), 0o644)
        self.write("data/d/h2", "mine\n")
        self.fails("checkout", "data/d@v1", msg=["data/d", "not recorded"])
        self.assertEqual(self.read("data/d/h2"), b"mine\n")


if __name__ == "__main__":
    unittest.main()
