// The registry's part of push and fetch: which models a transfer carries,
// and the remote's registry refs as one listing reads them.
#include <gtest/gtest.h>

#include "remote/model_sync.h"
#include "test_util/temp_dir.h"

namespace cairn {
namespace {

TEST(ModelSync, SplitsModelTargetsFromDatasetTargets) {
  std::vector<std::string> targets;
  ModelSelection all;
  ASSERT_TRUE(SplitModelTargets(&targets, &all).ok());
  EXPECT_TRUE(all.all);
  EXPECT_TRUE(all.Wants("anything"));

  targets = {"data/raw", "model:churn@production", "model:retriever", "eval@v3"};
  ModelSelection some;
  ASSERT_TRUE(SplitModelTargets(&targets, &some).ok());
  EXPECT_EQ(targets, (std::vector<std::string>{"data/raw", "eval@v3"}));
  EXPECT_FALSE(some.all);
  EXPECT_TRUE(some.Wants("churn"));
  EXPECT_TRUE(some.Wants("retriever"));
  EXPECT_FALSE(some.Wants("other"));

  targets = {"data/raw"};
  ModelSelection none;
  ASSERT_TRUE(SplitModelTargets(&targets, &none).ok());
  EXPECT_FALSE(none.Any());

  targets = {"model:bad name"};
  ModelSelection bad;
  EXPECT_EQ(SplitModelTargets(&targets, &bad).code(), Code::kInvalidArgument);
}

TEST(ModelSync, ListsTheRemoteRegistryAndSkipsForeignNames) {
  testing::TempDir dir;
  auto backend = OpenDirectoryBackend(dir.path().string());
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  std::string entry(64, 'a');
  std::vector<std::string> keys = {"refs/models/churn/versions/1", "refs/models/churn/versions/2",
                                "refs/models/churn/aliases/production", "refs/models/churn/deprecated/1",
                                "refs/models/churn/approvals/2/" + entry, "refs/models/churn/versions/01",
                                "refs/models/churn/aliases/latest", "refs/models/bad name/versions/1",
                                "refs/models/other/versions/1"};
  for (const std::string& key : keys) {
    ASSERT_TRUE((*backend)->Put(key, "x").ok()) << key;
  }
  ModelSelection churn;
  churn.names = {"churn"};
  std::vector<std::string> warnings;
  auto refs = model_sync::ListRemote(**backend, churn, &warnings);
  ASSERT_TRUE(refs.ok()) << refs.status().ToString();
  ASSERT_EQ(refs->size(), 1u);
  const ModelRefSet& m = refs->at("churn");
  EXPECT_EQ(m.version_numbers, (std::set<int64_t>{1, 2}));
  EXPECT_EQ(m.aliases.size(), 1u);
  EXPECT_TRUE(m.aliases.count("production"));
  EXPECT_EQ(m.deprecated, (std::set<int64_t>{1}));
  EXPECT_EQ(m.approvals.size(), 1u);
  // versions/01 (a leading zero), aliases/latest (reserved), "bad name": skipped, each with a warning.
  EXPECT_EQ(warnings.size(), 3u);
}

}  // namespace
}  // namespace cairn
