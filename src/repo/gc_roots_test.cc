// The gc-root registry: every module's contributor is registered in every
// binary that links the library, in the documented order, and a contributor
// that fails stops the collection (gc fails closed).
#include "cairn/gc_roots.h"

#include <gtest/gtest.h>

#include "test_util/temp_dir.h"

namespace cairn {
namespace {

TEST(GcRootRegistryTest, DefaultRegistryHasEveryModule) {
  EXPECT_EQ(DefaultGcRoots().names(),
            (std::vector<std::string>{"datasets", "pipelines", "runs", "run-cache", "models"}));
}

TEST(GcRootRegistryTest, FirstErrorStopsTheCollectionWithContext) {
  testing::TempDir dir;
  auto repo = testing::InitTestRepo(dir.path());
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  GcRootRegistry registry;
  std::vector<std::string> called;
  registry.Add("a", [&](Repo&, const GcRootOptions&, GcRootSet*) {
    called.push_back("a");
    return Status::OK();
  });
  registry.Add("broken", [&](Repo&, const GcRootOptions&, GcRootSet*) {
    called.push_back("broken");
    return Status::Corruption("run record x cannot be read");
  });
  registry.Add("c", [&](Repo&, const GcRootOptions&, GcRootSet*) {
    called.push_back("c");
    return Status::OK();
  });
  registry.Add("a", [&](Repo&, const GcRootOptions&, GcRootSet*) {  // replaces, keeps its place
    called.push_back("a2");
    return Status::OK();
  });
  EXPECT_EQ(registry.names(), (std::vector<std::string>{"a", "broken", "c"}));
  GcRootSet roots;
  Status s = registry.Collect(**repo, GcRootOptions{}, &roots);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.ToString().find("gc roots of broken"), std::string::npos) << s.ToString();
  EXPECT_EQ(called, (std::vector<std::string>{"a2", "broken"}));
}

}  // namespace
}  // namespace cairn
