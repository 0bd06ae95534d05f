"""Running out of space during add: exit 2, previous pointer intact, no leftovers.

Two ways to run out: the file size limit (ulimit -f, RLIMIT_FSIZE, with SIGXFSZ
ignored so writes fail with EFBIG), which works anywhere; and a real ENOSPC on
a tiny tmpfs, which needs permission to mount (skipped otherwise).
"""

import os
import subprocess
import unittest

from cairn_testlib import CairnTestCase, deterministic_bytes, ignore_sigxfsz_and_limit

MIB = 1 << 20


class FileSizeLimit(CairnTestCase):

    def assert_add_failed_cleanly(self, r, path, pointer_before, latest_before, fragments):
        self.assertEqual(r.returncode, 2, self.describe(r))
        self.assert_error(r, *fragments)
        self.assertEqual(self.pointer_bytes(path), pointer_before)
        self.assertEqual(self.tmp_leftovers(), [])
        self.assertEqual(self.tree_snapshot(os.path.join(self.cairn_dir, "refs")), latest_before)
        self.fsck_clean()
        self.assertEqual(self.status(path)[path]["state"], "modified")

    def test_large_file(self):
        self.write("data.bin", deterministic_bytes(2 * MIB, seed=1))
        v1 = self.add1("data.bin")["version"]
        pointer = self.pointer_bytes("data.bin")
        refs = self.tree_snapshot(os.path.join(self.cairn_dir, "refs"))
        self.write("data.bin", deterministic_bytes(2 * MIB, seed=2))
        r = self.cairn("add", "data.bin", preexec_fn=ignore_sigxfsz_and_limit(1 * MIB))
        self.assert_add_failed_cleanly(r, "data.bin", pointer, refs, ["File too large"])
        self.assertIn("hint: ", r.stderr)
        self.assertIn("ulimit", r.stderr)
        self.assertEqual(self.json("show", "data.bin")["version"], v1)
        # With the limit lifted, the same add works.
        res = self.add1("data.bin")
        self.assertEqual(res["parent"], v1)
        self.fsck_clean()
        self.ok("status", "--exit-code")

    def test_first_add_writes_no_pointer(self):
        self.write("data.bin", deterministic_bytes(2 * MIB, seed=3))
        r = self.cairn("add", "data.bin", preexec_fn=ignore_sigxfsz_and_limit(1 * MIB))
        self.assertEqual(r.returncode, 2, self.describe(r))
        self.assert_error(r, "File too large")
        self.assertFalse(os.path.exists(self.path("data.bin.cairn")))
        self.assertFalse(os.path.exists(self.path(".gitignore")))
        self.assertEqual(self.tmp_leftovers(), [])
        self.fsck_clean()

    def test_directory_of_small_files(self):
        # Small files go to packs (one per writer thread, at most a few); 4 MiB
        # of them cannot fit in packs of at most 1 MiB each.
        for i in range(64):
            self.write("d/part-%02d.bin" % i, deterministic_bytes(64 * 1024, seed=100 + i))
        v1 = self.add1("d")["version"]
        pointer = self.pointer_bytes("d")
        refs = self.tree_snapshot(os.path.join(self.cairn_dir, "refs"))
        packs_before = sorted(os.listdir(os.path.join(self.cairn_dir, "cache", "packs")))
        for i in range(64):
            self.write("d/part-%02d.bin" % i, deterministic_bytes(64 * 1024, seed=200 + i))
        r = self.cairn("add", "d", preexec_fn=ignore_sigxfsz_and_limit(1 * MIB))
        self.assert_add_failed_cleanly(r, "d", pointer, refs, ["File too large"])
        self.assertEqual(sorted(os.listdir(os.path.join(self.cairn_dir, "cache", "packs"))), packs_before)
        self.assertEqual(self.json("show", "d")["version"], v1)
        self.assertEqual(self.add1("d")["parent"], v1)
        self.fsck_clean()


def _try_mount_tmpfs(where, size):
    os.makedirs(where, exist_ok=True)
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", where],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        return str(e)
    return None if r.returncode == 0 else (r.stderr.strip() or "mount failed")


class RealEnospc(CairnTestCase):
    use_git = False
    init_cairn = False

    def setUp(self):
        super().setUp()
        mnt = os.path.join(self.tmp, "mnt")
        err = _try_mount_tmpfs(mnt, "3m")
        if err:
            self.skipTest("cannot mount a tmpfs here: %s" % err)
        self.addCleanup(subprocess.run, ["umount", "-l", mnt], capture_output=True)
        self.mnt = mnt
        self.repo = os.path.join(mnt, "repo")
        os.makedirs(self.repo)
        self.use_git = True
        self.init_cairn = True
        self.init_repo()

    def test_enospc_during_add(self):
        self.write("data.bin", deterministic_bytes(512 * 1024, seed=1))
        v1 = self.add1("data.bin")["version"]
        pointer = self.pointer_bytes("data.bin")
        refs = self.tree_snapshot(os.path.join(self.cairn_dir, "refs"))
        # 1.5 MiB of new data in the workspace fits; a second copy in the cache does not.
        self.write("data.bin", deterministic_bytes(1536 * 1024, seed=2))
        r = self.cairn("add", "data.bin")
        self.assertEqual(r.returncode, 2, self.describe(r))
        self.assert_error(r, "No space left on device", hint="free some disk space")
        self.assertEqual(self.pointer_bytes("data.bin"), pointer)
        self.assertEqual(self.tmp_leftovers(), [])
        self.assertEqual(self.tree_snapshot(os.path.join(self.cairn_dir, "refs")), refs)
        self.fsck_clean()
        self.assertEqual(self.json("show", "data.bin")["version"], v1)
        # After making room, the add goes through.
        subprocess.run(["mount", "-o", "remount,size=16m", self.mnt], check=True)
        self.assertEqual(self.add1("data.bin")["parent"], v1)
        self.fsck_clean()
        self.ok("status", "--exit-code")


if __name__ == "__main__":
    unittest.main()
