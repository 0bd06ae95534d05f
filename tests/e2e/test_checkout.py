"""cairn checkout: restoring versions, refusing to lose data, link modes."""

import os
import shutil
import stat
import unittest

from cairn_testlib import CairnTestCase, deterministic_bytes, sha256_file

BIG = 256 * 1024  # above the 128 KiB small-blob limit: stored as a loose file


class CheckoutHistory(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.d = self.make_dataset_dir("data/tables")
        self.write(self.d + "/big.bin", deterministic_bytes(BIG, seed=1))
        self.copy_example("iris.csv", "iris.csv")
        self.add(self.d, "iris.csv", message="v1")
        self.v1_files = self.file_hashes()
        self.c1 = self.commit(message="v1")
        # Version 2: modify, delete and add files.
        self.append(self.d + "/iris.csv", "6.0,3.0,4.0,1.0,1\n")
        os.remove(self.path(self.d + "/wine_data.csv"))
        self.write(self.d + "/sub/new.txt", "new file\n")
        self.write(self.d + "/big.bin", deterministic_bytes(BIG, seed=2))
        self.append("iris.csv", "0,0,0,0,0\n")
        self.add(self.d, "iris.csv", message="v2")
        self.v2_files = self.file_hashes()
        self.c2 = self.commit(message="v2")

    def file_hashes(self):
        out = {}
        for root in (self.d, "iris.csv"):
            p = self.path(root)
            if os.path.isfile(p):
                out[root] = sha256_file(p)
                continue
            for dirpath, _, names in os.walk(p):
                for n in names:
                    full = os.path.join(dirpath, n)
                    out[os.path.relpath(full, self.repo)] = sha256_file(full)
        return out

    def test_checkout_after_git_checkout_restores_old_bytes(self):
        self.git("checkout", "-q", self.c1)
        self.assertEqual(self.status()[self.d]["state"], "modified")
        res = {r["path"]: r for r in self.json("checkout")}
        self.assertEqual(res[self.d]["files_written"], 3)   # iris, wine, big
        self.assertEqual(res[self.d]["files_removed"], 1)   # sub/new.txt
        self.assertEqual(res["iris.csv"]["files_written"], 1)
        self.assertEqual(self.file_hashes(), self.v1_files)
        self.assertFalse(os.path.exists(self.path(self.d + "/sub/new.txt")))
        r = self.ok("status", "--exit-code")
        self.assertNotIn("modified", r.stdout)
        # Nothing left to do.
        r = self.ok("checkout")
        self.assertIn("data/tables: up to date", r.stdout)
        self.assertIn("iris.csv: up to date", r.stdout)
        # And forward again.
        self.git("checkout", "-q", "main")
        r = self.ok("checkout")
        self.assertIn("file(s) written", r.stdout)
        self.assertEqual(self.file_hashes(), self.v2_files)
        self.ok("status", "--exit-code")
        self.fsck_clean()

    def test_checkout_path_filter(self):
        self.git("checkout", "-q", self.c1)
        res = self.json("checkout", "iris.csv")
        self.assertEqual([r["path"] for r in res], ["iris.csv"])
        self.assertEqual(self.sha("iris.csv"), self.v1_files["iris.csv"])
        # The directory was left alone.
        self.assertEqual(self.sha(self.d + "/iris.csv"), self.v2_files[self.d + "/iris.csv"])
        self.fails("checkout", "not-tracked", msg="is not tracked by cairn")

    def test_checkout_refuses_to_overwrite_modified_file(self):
        self.git("checkout", "-q", self.c1)
        self.write(self.d + "/iris.csv", "precious unsaved edit\n")
        before = self.full_snapshot()
        r = self.fails("checkout", msg="checkout would overwrite or delete content that is not in the cache",
                       hint="--force")
        self.assertIn("data/tables/iris.csv (modified)", r.stderr)
        self.assertNotIn("big.bin", r.stderr)  # its bytes are safely in the cache
        self.assert_unchanged(before)
        self.assertEqual(self.read(self.d + "/iris.csv"), b"precious unsaved edit\n")
        # --force discards it.
        self.ok("checkout", "--force")
        self.assertEqual(self.file_hashes(), self.v1_files)
        self.ok("status", "--exit-code")

    def test_checkout_refuses_to_delete_untracked_file(self):
        self.write(self.d + "/sub/untracked.txt", "mine\n")
        before = self.full_snapshot()
        r = self.fails("checkout", msg="would overwrite or delete")
        self.assertIn("data/tables/sub/untracked.txt (untracked)", r.stderr)
        self.assert_unchanged(before)
        r = self.ok("checkout", "--force")
        self.assertIn("1 removed", r.stdout)
        self.assertFalse(os.path.exists(self.path(self.d + "/sub/untracked.txt")))
        self.assertEqual(self.file_hashes(), self.v2_files)

    def test_checkout_refuses_to_overwrite_modified_single_file(self):
        self.write("iris.csv", "edited\n")
        before = self.full_snapshot()
        r = self.fails("checkout", "iris.csv", msg="would overwrite or delete")
        self.assertIn("iris.csv (modified)", r.stderr)
        self.assert_unchanged(before)
        self.ok("checkout", "-f", "iris.csv")
        self.assertEqual(self.sha("iris.csv"), self.v2_files["iris.csv"])

    def test_checkout_file_replaced_by_directory(self):
        os.remove(self.path("iris.csv"))
        self.write("iris.csv/inner.txt", "surprise\n")
        before = self.full_snapshot()
        r = self.fails("checkout", "iris.csv", msg="would overwrite or delete")
        self.assertIn("iris.csv", r.stderr)
        self.assert_unchanged(before)
        self.ok("checkout", "--force", "iris.csv")
        self.assertTrue(os.path.isfile(self.path("iris.csv")))
        self.assertEqual(self.sha("iris.csv"), self.v2_files["iris.csv"])

    def test_checkout_restores_deleted_files(self):
        os.remove(self.path(self.d + "/iris.csv"))
        os.remove(self.path(self.d + "/big.bin"))
        self.assertEqual(self.status()[self.d]["deleted"], 2)
        res = self.json("checkout")
        self.assertEqual({r["path"]: r["files_written"] for r in res}, {self.d: 2, "iris.csv": 0})
        self.assertEqual(self.file_hashes(), self.v2_files)
        # A whole tracked path.
        shutil.rmtree(self.path(self.d))
        os.remove(self.path("iris.csv"))
        self.ok("checkout")
        self.assertEqual(self.file_hashes(), self.v2_files)
        self.ok("status", "--exit-code")

    def test_checkout_missing_cache_data_changes_nothing(self):
        self.git("checkout", "-q", self.c1)
        # Lose v1's big blob from the cache.
        v1_big = [e for e in self.json("ls", self.d) if e["path"] == "big.bin"][0]["oid"]
        os.remove(self.loose_path(v1_big))
        before = self.full_snapshot()
        r = self.fails("checkout", msg="not in the cache")
        self.assertIn("data/tables/big.bin", r.stderr)
        self.assert_unchanged(before)


    def test_git_checkout_of_an_older_commit_hints_checkout_not_add(self):
        self.git("checkout", "-q", self.c1)
        r = self.cairn("status")
        self.assertIn("hint: %s holds version " % self.d, r.stdout)
        self.assertIn("'cairn checkout %s' restores the pointer's version" % self.d, r.stdout)
        self.assertNotIn("'cairn add PATH' records changes", r.stdout)
        # A real edit still gets the add hint.
        self.ok("checkout")
        self.append("iris.csv", "9,9,9,9,9\n")
        self.assertIn("'cairn add PATH' records changes", self.ok("status").stdout)

    def test_checkout_of_a_ref_restores_one_version_without_moving_git(self):
        head = self.git("rev-parse", "HEAD").stdout.strip()
        other_pointer = self.pointer_bytes("iris.csv")
        r = self.ok("checkout", self.d + "@" + self.v1_version())
        self.assertEqual(self.file_hashes()[self.d + "/iris.csv"], self.v1_files[self.d + "/iris.csv"])
        self.assertEqual({k: v for k, v in self.file_hashes().items() if k.startswith(self.d + "/")},
                         {k: v for k, v in self.v1_files.items() if k.startswith(self.d + "/")})
        self.assertTrue(self.pointer(self.d)["version"].startswith("sha256:" + self.v1_version()))
        self.assertEqual(self.pointer_bytes("iris.csv"), other_pointer, "another path moved")
        self.assertEqual(self.git("rev-parse", "HEAD").stdout.strip(), head, "git moved")
        self.assertIn(self.d, r.stdout)
        self.ok("status", "--exit-code")
        # @latest (the newest version made here) brings v2 back.
        self.ok("checkout", self.d + "@latest")
        self.assertEqual({k: v for k, v in self.file_hashes().items() if k.startswith(self.d + "/")},
                         {k: v for k, v in self.v2_files.items() if k.startswith(self.d + "/")})

    def test_checkout_of_a_ref_refuses_local_changes_without_force(self):
        self.append(self.d + "/iris.csv", "7,7,7,7,7\n")
        edited = self.read(self.d + "/iris.csv")
        pointer = self.pointer_bytes(self.d)
        self.fails("checkout", self.d + "@" + self.v1_version(), msg=["iris.csv", "not recorded"], hint="--force")
        self.assertEqual(self.read(self.d + "/iris.csv"), edited)
        self.assertEqual(self.pointer_bytes(self.d), pointer)
        self.ok("checkout", self.d + "@" + self.v1_version(), "--force")
        self.assertTrue(self.pointer(self.d)["version"].startswith("sha256:" + self.v1_version()))

    def v1_version(self):
        log = self.json("log", self.d)
        return log[-1]["version"].split(":")[1][:12]


class CheckoutModes(CairnTestCase):

    def setUp(self):
        super().setUp()
        self.write("d/big.bin", deterministic_bytes(BIG, seed=3))
        self.write("d/run.sh", "#!/bin/sh\necho hi\n", mode=0o755)
        self.write("d/bigexec.bin", deterministic_bytes(BIG, seed=4), mode=0o755)
        self.copy_example("iris.csv", "d/iris.csv")
        self.add("d")
        self.hashes = {n: self.sha("d/" + n) for n in ("big.bin", "run.sh", "bigexec.bin", "iris.csv")}
        self.big_oid = "sha256:" + self.hashes["big.bin"]

    def test_executable_bit_preserved(self):
        listing = {e["path"]: e for e in self.json("ls", "d")}
        self.assertTrue(listing["run.sh"]["executable"])
        self.assertTrue(listing["bigexec.bin"]["executable"])
        self.assertFalse(listing["iris.csv"]["executable"])
        r = self.ok("ls", "-l", "d")
        self.assertIn("755 %d\tsha256:%s\trun.sh" % (os.path.getsize(self.path("d/run.sh")), self.hashes["run.sh"]),
                      r.stdout)
        shutil.rmtree(self.path("d"))
        self.ok("checkout")
        for n in ("run.sh", "bigexec.bin"):
            mode = os.stat(self.path("d/" + n)).st_mode
            self.assertTrue(mode & stat.S_IXUSR, "%s lost its executable bit (%o)" % (n, mode))
        self.assertFalse(os.stat(self.path("d/iris.csv")).st_mode & stat.S_IXUSR)
        for n, h in self.hashes.items():
            self.assertEqual(self.sha("d/" + n), h)
        self.ok("status", "--exit-code")
        # Only the mode changed: checkout restores the mode.
        os.chmod(self.path("d/run.sh"), 0o644)
        self.assertEqual(self.status()["d"]["modified"], 1)
        res = self.json("checkout")
        self.assertEqual(res[0]["files_written"], 1)
        self.assertTrue(os.stat(self.path("d/run.sh")).st_mode & stat.S_IXUSR)
        self.ok("status", "--exit-code")

    def test_hardlink_mode(self):
        shutil.rmtree(self.path("d"))
        self.ok("checkout", "--link", "hardlink")
        ws = os.stat(self.path("d/big.bin"))
        cached = os.stat(self.loose_path(self.big_oid))
        self.assertEqual((ws.st_ino, ws.st_dev), (cached.st_ino, cached.st_dev))
        self.assertGreaterEqual(cached.st_nlink, 2)
        # Packed small blobs are copies.
        self.assertEqual(os.stat(self.path("d/iris.csv")).st_nlink, 1)
        self.assert_linked_checkout_matches()

    def assert_linked_checkout_matches(self):
        for n, h in self.hashes.items():
            self.assertEqual(self.sha("d/" + n), h)
        st = self.status()["d"]
        # Only the executable files may differ (see test_link_modes_keep_executable_bit).
        self.assertEqual(sorted(c["path"] for c in st["changes"] if c["path"] not in ("run.sh", "bigexec.bin")),
                         [], st)
        self.fsck_clean()

    def test_symlink_mode(self):
        shutil.rmtree(self.path("d"))
        self.ok("checkout", "--link", "symlink")
        p = self.path("d/big.bin")
        self.assertTrue(os.path.islink(p))
        self.assertEqual(os.path.realpath(p), os.path.realpath(self.loose_path(self.big_oid)))
        self.assertFalse(os.path.islink(self.path("d/iris.csv")))  # packed: copied
        self.assert_linked_checkout_matches()

    def test_link_modes_keep_executable_bit(self):
        # Checkout must make the workspace match the pointer, whatever the link
        # mode: executable files stay executable and status is clean afterwards.
        for mode in ("hardlink", "symlink"):
            with self.subTest(mode=mode):
                shutil.rmtree(self.path("d"))
                self.ok("checkout", "--link", mode)
                for n in ("run.sh", "bigexec.bin"):
                    m = os.stat(self.path("d/" + n)).st_mode
                    self.assertTrue(m & stat.S_IXUSR,
                                    "--link %s: d/%s lost its executable bit (mode %o)" % (mode, n, m))
                st = self.status()["d"]
                self.assertEqual(st["state"], "clean", "--link %s: status right after checkout: %s" % (mode, st))

    def test_copy_mode_is_independent_of_the_cache(self):
        shutil.rmtree(self.path("d"))
        self.ok("checkout", "--link", "copy")
        ws = os.stat(self.path("d/big.bin"))
        cached = os.stat(self.loose_path(self.big_oid))
        self.assertNotEqual(ws.st_ino, cached.st_ino)
        self.assertEqual(stat.S_IMODE(ws.st_mode), 0o644)
        self.assertFalse(os.path.islink(self.path("d/big.bin")))
        # Editing the checked-out file must not touch the cached object.
        self.append("d/big.bin", b"appended")
        self.assertEqual(sha256_file(self.loose_path(self.big_oid)), self.hashes["big.bin"])
        self.fsck_clean()
        self.assertEqual(self.status()["d"]["modified"], 1)
        self.ok("checkout", "--force")
        self.assertEqual(self.sha("d/big.bin"), self.hashes["big.bin"])
        self.ok("status", "--exit-code")

    def test_default_mode_is_copy(self):
        os.remove(self.path("d/big.bin"))
        self.ok("checkout")
        self.assertNotEqual(os.stat(self.path("d/big.bin")).st_ino,
                            os.stat(self.loose_path(self.big_oid)).st_ino)
        self.append("d/big.bin", b"x")
        self.assertEqual(sha256_file(self.loose_path(self.big_oid)), self.hashes["big.bin"])

    def test_checkout_json_and_no_temp_files_left(self):
        os.remove(self.path("d/big.bin"))
        res = self.json("checkout")
        self.assertEqual(res, [{"path": "d", "files_written": 1, "files_removed": 0, "bytes_written": BIG}])
        leftovers = [n for n in os.listdir(self.path("d")) if "cairn-tmp" in n]
        self.assertEqual(leftovers, [])


class CheckoutSingleFile(CairnTestCase):

    def test_executable_single_file(self):
        self.write("tools/run.sh", "#!/bin/sh\necho hi\n", mode=0o755)
        self.add1("tools/run.sh")
        st = self.status()["tools/run.sh"]
        self.assertEqual(st["state"], "clean", "status right after add: %s" % st)
        os.remove(self.path("tools/run.sh"))
        self.ok("checkout")
        mode = os.stat(self.path("tools/run.sh")).st_mode
        self.assertTrue(mode & stat.S_IXUSR, "checkout lost the executable bit (mode %o)" % mode)

    def test_empty_file_and_empty_directory(self):
        self.write("empty.bin", b"")
        os.makedirs(self.path("emptydir"))
        self.write("d/zero.txt", b"")
        self.add("empty.bin", "emptydir", "d")
        self.assertEqual(self.pointer("emptydir")["files"], "0")
        self.ok("status", "--exit-code")
        os.remove(self.path("empty.bin"))
        shutil.rmtree(self.path("emptydir"))
        shutil.rmtree(self.path("d"))
        self.ok("checkout")
        self.assertEqual(self.read("empty.bin"), b"")
        self.assertEqual(self.read("d/zero.txt"), b"")
        self.assertTrue(os.path.isdir(self.path("emptydir")), "checkout did not restore the empty directory")
        st = self.status()
        self.assertEqual({p: s["state"] for p, s in st.items()},
                         {"empty.bin": "clean", "emptydir": "clean", "d": "clean"})

    def test_plain_single_file_round_trip(self):
        self.write("big.bin", deterministic_bytes(BIG, seed=11))
        h = self.sha("big.bin")
        self.add1("big.bin")
        os.remove(self.path("big.bin"))
        self.assertEqual(self.status()["big.bin"]["state"], "missing-from-workspace")
        self.assertEqual(self.json("checkout"), [{"path": "big.bin", "files_written": 1, "files_removed": 0,
                                                  "bytes_written": BIG}])
        self.assertEqual(self.sha("big.bin"), h)
        self.assertEqual(stat.S_IMODE(os.stat(self.path("big.bin")).st_mode), 0o644)
        self.ok("status", "--exit-code")


if __name__ == "__main__":
    unittest.main()
