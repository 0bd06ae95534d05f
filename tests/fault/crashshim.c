/* Crash-point injection for the fault campaign (tests/fault/test_crashpoints.py).
 *
 * LD_PRELOADed into cairn: counts the calls of one class of file-system operations and
 * SIGKILLs the process just before the Nth one, so a kill lands exactly between two steps
 * of a command (deterministic where timed kills are a lottery).
 *
 *   CAIRN_CRASH_ON=unlink|rename   unlink: unlink, unlinkat, remove; rename: rename, renameat, renameat2
 *   CAIRN_CRASH_AT=N               kill before the Nth such call (0: never, only count)
 *   CAIRN_CRASH_COUNT=FILE         at a normal exit, write how many calls there were
 *
 * Built by the test with `cc -shared -fPIC -o crashshim.so crashshim.c -ldl`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long calls;
static long crash_at;
static int watch_unlink, watch_rename;

__attribute__((constructor)) static void init(void) {
  const char* on = getenv("CAIRN_CRASH_ON");
  const char* at = getenv("CAIRN_CRASH_AT");
  watch_unlink = on && strcmp(on, "unlink") == 0;
  watch_rename = on && strcmp(on, "rename") == 0;
  crash_at = at ? atol(at) : 0;
}

__attribute__((destructor)) static void report(void) {
  const char* path = getenv("CAIRN_CRASH_COUNT");
  if (!path) return;
  FILE* f = fopen(path, "w");
  if (!f) return;
  fprintf(f, "%ld\n", (long)atomic_load(&calls));
  fclose(f);
}

static void step(int watched) {
  if (!watched) return;
  long n = atomic_fetch_add(&calls, 1) + 1;
  if (crash_at > 0 && n == crash_at) raise(SIGKILL);
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int unlink(const char* p) {
  step(watch_unlink);
  return REAL(unlink)(p);
}
int unlinkat(int d, const char* p, int f) {
  step(watch_unlink);
  return REAL(unlinkat)(d, p, f);
}
int remove(const char* p) {
  step(watch_unlink);
  return REAL(remove)(p);
}
int rename(const char* a, const char* b) {
  step(watch_rename);
  return REAL(rename)(a, b);
}
int renameat(int da, const char* a, int db, const char* b) {
  step(watch_rename);
  return REAL(renameat)(da, a, db, b);
}
int renameat2(int da, const char* a, int db, const char* b, unsigned int f) {
  step(watch_rename);
  return REAL(renameat2)(da, a, db, b, f);
}
