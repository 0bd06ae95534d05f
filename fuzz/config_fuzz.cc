// ListRemotes / FindRemote over .cairn/config: the file is committed, so a
// clone reads what anyone with push access wrote. The TOML parser must not
// crash, and every remote it yields must have a valid name (the name becomes
// the directory .cairn/remotes/NAME of its index cache) and a URL, sorted and
// unique by name.
#include "cairn/remote.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  fuzz::ScratchRepo& scratch = fuzz::ScratchRepo::Get();
  scratch.Write(".cairn/config", fuzz::AsText(data, size));
  auto list = ListRemotes(scratch.repo());
  if (!list.ok()) {
    FUZZ_CHECK(list.status().code() == Code::kCorruption, fuzz::Describe(list.status()));
    return 0;
  }
  for (size_t i = 0; i < list->remotes.size(); ++i) {
    const RemoteSpec& r = list->remotes[i];
    Status name = ValidateRemoteName(r.name);
    FUZZ_CHECK(name.ok(), "config yields a remote with an invalid name: " + fuzz::Describe(name));
    FUZZ_CHECK(!r.url.empty(), "remote '" + r.name + "' has no URL");
    FUZZ_CHECK(i == 0 || list->remotes[i - 1].name < r.name, "remotes are not sorted and unique");
  }
  auto found = FindRemote(scratch.repo(), "");
  if (found.ok()) {
    Status name = ValidateRemoteName(found->name);
    FUZZ_CHECK(name.ok(), "default remote has an invalid name: " + fuzz::Describe(name));
  } else {
    // NotFound (no remote), or InvalidArgument (a URL that is no usable
    // remote, such as a directory inside the work tree).
    FUZZ_CHECK(found.status().code() == Code::kNotFound || found.status().code() == Code::kInvalidArgument,
               fuzz::Describe(found.status()));
  }
  return 0;
}
