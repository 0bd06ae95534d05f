// Tracker::RunLinks: every active run, newest first, with only the tags
// under a prefix (what lineage reads before it loads the runs it reaches).
#include <gtest/gtest.h>

#include "cairn/tracking.h"
#include "tracking/tracker_test_fixture.h"

namespace cairn {
namespace {

class RunLinksTest : public testing::TrackerFixture {
 protected:
  std::string Start(const std::string& name, int64_t start_ms, std::map<std::string, std::string> tags) {
    StartRunOptions o;
    o.name = name;
    o.start_ms = start_ms;
    o.tags = std::move(tags);
    o.capture_env = false;
    o.workspace_inputs = false;
    auto id = tracker_->StartRun(o);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : std::string();
  }
};

TEST_F(RunLinksTest, NewestFirstOnlyPrefixedTagsNoDeletedRuns) {
  std::string a = Start("a", 1000, {{"cairn.out.models/a.bin", "sha256:aa"}, {"note", "x"}});
  std::string b = Start("b", 3000, {{"cairn.out.b", "sha256:bb"}, {"cairn.outside", "no"}});
  std::string c = Start("c", 2000, {{"cairnXout.c", "no: '_' or '.' must not act as a wildcard"}});
  std::string gone = Start("gone", 4000, {{"cairn.out.gone", "sha256:cc"}});
  ASSERT_TRUE(tracker_->DeleteRun(gone).ok());

  auto links = tracker_->RunLinks("cairn.out.");
  ASSERT_TRUE(links.ok()) << links.status().ToString();
  ASSERT_EQ(links->size(), 3u);
  EXPECT_EQ((*links)[0].id, b);
  EXPECT_EQ((*links)[1].id, c);
  EXPECT_EQ((*links)[2].id, a);
  EXPECT_EQ((*links)[0].tags, (std::map<std::string, std::string>{{"cairn.out.b", "sha256:bb"}}));
  EXPECT_TRUE((*links)[1].tags.empty());
  EXPECT_EQ((*links)[2].tags, (std::map<std::string, std::string>{{"cairn.out.models/a.bin", "sha256:aa"}}));
  EXPECT_TRUE((*links)[2].params.empty());
  EXPECT_TRUE((*links)[2].name.empty());  // links only: the rest is loaded when needed

  // A prefix is matched literally: '_' and '%' are not LIKE wildcards here.
  auto literal = tracker_->RunLinks("cairn_out");
  ASSERT_TRUE(literal.ok());
  for (const RunInfo& r : *literal) EXPECT_TRUE(r.tags.empty()) << r.id;
}

}  // namespace
}  // namespace cairn
