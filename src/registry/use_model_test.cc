// Model references as use_model takes them (cairn's and MLflow's forms).
#include <gtest/gtest.h>

#include "cairn/use_model.h"

namespace cairn {
namespace {

std::string Ref(const std::string& text) {
  auto r = ModelRefFromUri(text);
  return r.ok() ? *r : "error: " + r.status().message();
}

TEST(ModelUseRef, CairnAndMlflowForms) {
  EXPECT_EQ(Ref("retriever@production"), "model:retriever@production");
  EXPECT_EQ(Ref("model:retriever@3"), "model:retriever@3");
  EXPECT_EQ(Ref("retriever@v3"), "model:retriever@3");
  EXPECT_EQ(Ref("retriever"), "model:retriever@latest");
  EXPECT_EQ(Ref("models:/retriever@production"), "model:retriever@production");
  EXPECT_EQ(Ref("models:/retriever/3"), "model:retriever@3");
  EXPECT_EQ(Ref("models:/retriever/latest"), "model:retriever@latest");
}

TEST(ModelUseRef, BadFormsSayWhatIsAccepted) {
  auto stage = ModelRefFromUri("models:/retriever/Production");
  ASSERT_FALSE(stage.ok());
  EXPECT_EQ(stage.status().code(), Code::kInvalidArgument);
  EXPECT_NE(stage.status().hint().find("models:/retriever@ALIAS"), std::string::npos);
  for (const char* bad : {"", "models:/", "models:/x", "models:/x@a/b", "bad name@1"}) {
    auto r = ModelRefFromUri(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace cairn
