// The times `cairn model history --at` accepts.
#include <gtest/gtest.h>

#include "cairn/gate.h"

namespace cairn {
namespace {

int64_t At(const char* text) {
  auto t = ParseHistoryTime(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? *t : -1;
}

TEST(GateHistoryTimeTest, DatesDateTimesAndEpochSeconds) {
  EXPECT_EQ(At("1764590000"), 1764590000000);
  EXPECT_EQ(At("2026-03-01T12:30:00Z"), 1772368200000);
  EXPECT_EQ(At("2026-03-01T12:30:00"), 1772368200000);  // no zone: UTC
  EXPECT_EQ(At("2026-03-01 12:30"), 1772368200000);
  EXPECT_EQ(At("2026-03-01T14:30:00+02:00"), 1772368200000);
  EXPECT_EQ(At("2026-03-01T12:30:00.250Z"), 1772368200250);
  // A date alone is the end of that day.
  EXPECT_EQ(At("2026-03-01"), 1772409599999);
}

TEST(GateHistoryTimeTest, RefusesWhatItCannotRead) {
  for (const char* bad : {"", "yesterday", "2026-13-01", "2026-02-30", "2026-03-01T25:00", "2026-03-01T12:30:00+2",
                          "2026-03-01X", "-5", "2026-03-01T12:30:00.Z"}) {
    auto t = ParseHistoryTime(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_NE(t.status().message().find("cannot read the time"), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace cairn
