#include "util/yaml_guard.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

std::string Laughs(int levels) {
  std::string s = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= levels; ++i) {
    s += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) s += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    s += "]\n";
  }
  return s;
}

TEST(YamlGuard, AliasesOfAliasesPastTheLimitAreRefused) {
  EXPECT_TRUE(CheckYamlExpansion(Laughs(3), "s.yaml").ok());  // about 11,000 nodes
  Status s = CheckYamlExpansion(Laughs(7), "s.yaml");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("s.yaml:6:"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("expand to more than 1000000 nodes"), std::string::npos);
  // A smaller limit, plain documents, and text that is not YAML (the loader reports that).
  EXPECT_FALSE(CheckYamlExpansion(Laughs(3), "s.yaml", 1000).ok());
  EXPECT_TRUE(CheckYamlExpansion("a: 1\nb: [1, 2]\n", "s.yaml").ok());
  EXPECT_TRUE(CheckYamlExpansion("a: *nope\n[", "s.yaml").ok());
  // Only the first document counts (what YAML::Load reads): this broken text
  // (found by the lock fuzzer) made the parser yield documents without end.
  EXPECT_TRUE(CheckYamlExpansion("\t,a:" + std::string(35, '.') + "*" + std::string(34, '.') + "{\nf", "cairn.lock").ok());
}

}  // namespace
}  // namespace cairn
