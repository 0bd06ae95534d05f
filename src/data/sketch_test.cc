#include "data/sketch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

namespace cairn::data_internal {
namespace {

const std::vector<double> kQs = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};

TEST(SketchHash, NumbersHashByValue) {
  EXPECT_EQ(HashNumber(1.0), HashNumber(1));
  EXPECT_EQ(HashNumber(-0.0), HashNumber(0.0));
  EXPECT_NE(HashNumber(1.0), HashNumber(2.0));
  EXPECT_NE(HashText("a"), HashText("b"));
  EXPECT_EQ(HashText("abc"), HashText(std::string("abc")));
}

TEST(SketchDistinct, ExactUpToTheLimit) {
  DistinctCounter d;
  EXPECT_EQ(d.Count(), 0u);
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < DistinctCounter::kExactLimit; ++i) d.Add(HashText(std::to_string(i)));
  }
  d.Add(0);  // the empty-slot marker is a value too
  d.Add(0);
  EXPECT_FALSE(d.exact());  // 10,001 distinct
  DistinctCounter e;
  for (size_t i = 0; i < DistinctCounter::kExactLimit; ++i) e.Add(HashNumber(static_cast<double>(i)));
  e.Add(HashNumber(5.0));
  EXPECT_TRUE(e.exact());
  EXPECT_EQ(e.Count(), DistinctCounter::kExactLimit);
}

// The sketch's error is within three standard errors over a range of counts.
TEST(SketchDistinct, SketchWithinItsError) {
  for (uint64_t n : {10'001ull, 20'000ull, 50'000ull, 200'000ull, 1'000'000ull, 5'000'000ull}) {
    DistinctCounter d;
    for (uint64_t i = 0; i < n; ++i) {
      d.Add(HashNumber(static_cast<double>(i)));
      if (i % 3 == 0) d.Add(HashNumber(static_cast<double>(i)));  // repeats change nothing
    }
    EXPECT_FALSE(d.exact());
    double err = std::abs(static_cast<double>(d.Count()) - static_cast<double>(n)) / static_cast<double>(n);
    EXPECT_LT(err, 3 * DistinctCounter::kRelativeError) << "n=" << n << " estimate=" << d.Count();
  }
}

TEST(SketchQuantiles, ExactAsNumpyLinear) {
  QuantileSketch s;
  for (int i = 10; i >= 1; --i) s.Add(i);
  ASSERT_TRUE(s.exact());
  std::vector<double> q = s.Quantiles(kQs);
  // numpy.quantile(np.arange(1, 11), q)
  std::vector<double> want = {1.09, 1.45, 3.25, 5.5, 7.75, 9.549999999999999, 9.91};
  ASSERT_EQ(q.size(), want.size());
  for (size_t i = 0; i < q.size(); ++i) EXPECT_DOUBLE_EQ(q[i], want[i]) << kQs[i];
  QuantileSketch one;
  one.Add(4.5);
  EXPECT_EQ(one.Quantiles({0.0, 0.5, 1.0}), std::vector<double>({4.5, 4.5, 4.5}));
  QuantileSketch none;
  EXPECT_TRUE(none.Quantiles(kQs).empty());
}

TEST(SketchQuantiles, ExactOnIrregularValues) {
  QuantileSketch s;
  for (double v : {3.0, 0.1, 2.9, 0.7, 0.3, 1.1, 0.2}) s.Add(v);
  std::vector<double> q = s.Quantiles(kQs);
  std::vector<double> want = {0.10600000000000001, 0.13, 0.25, 0.7, 2.0, 2.9699999999999998, 2.9939999999999998};
  for (size_t i = 0; i < q.size(); ++i) EXPECT_DOUBLE_EQ(q[i], want[i]) << kQs[i];
}

// Past its capacity the sketch is a uniform sample: the true rank of each
// reported quantile is within five standard errors of q.
TEST(SketchQuantiles, SampleRankError) {
  const uint64_t n = 2'000'000;
  const size_t capacity = 20'000;
  std::vector<double> values(n);
  std::iota(values.begin(), values.end(), 0.0);
  std::mt19937_64 gen(7);
  std::shuffle(values.begin(), values.end(), gen);
  QuantileSketch s(capacity);
  for (double v : values) s.Add(v);
  EXPECT_FALSE(s.exact());
  EXPECT_EQ(s.count(), n);
  std::vector<double> q = s.Quantiles(kQs);
  for (size_t i = 0; i < kQs.size(); ++i) {
    double rank = q[i] / static_cast<double>(n - 1);  // value v has rank v among 0..n-1
    double sigma = std::sqrt(kQs[i] * (1 - kQs[i]) / capacity);
    EXPECT_NEAR(rank, kQs[i], 5 * sigma + 1.0 / capacity) << kQs[i];
  }
  // Sorted input is no worse (the sample does not depend on order).
  QuantileSketch sorted(capacity);
  for (uint64_t i = 0; i < n; ++i) sorted.Add(static_cast<double>(i));
  std::vector<double> q2 = sorted.Quantiles(kQs);
  for (size_t i = 0; i < kQs.size(); ++i) {
    double sigma = std::sqrt(kQs[i] * (1 - kQs[i]) / capacity);
    EXPECT_NEAR(q2[i] / static_cast<double>(n - 1), kQs[i], 5 * sigma + 1.0 / capacity) << kQs[i];
  }
}

TEST(SketchQuantiles, Deterministic) {
  QuantileSketch a(1000), b(1000);
  for (int i = 0; i < 100'000; ++i) {
    a.Add(std::sin(i));
    b.Add(std::sin(i));
  }
  EXPECT_EQ(a.Quantiles(kQs), b.Quantiles(kQs));
}

TEST(SketchHistogram, ExactAsNumpy) {
  QuantileSketch s;
  for (int i = 1; i <= 10; ++i) s.Add(i);
  QuantileSketch::Histogram h = s.MakeHistogram(1, 10, 4);
  EXPECT_EQ(h.counts, std::vector<uint64_t>({3, 2, 2, 3}));
  EXPECT_EQ(h.edges, std::vector<double>({1, 3.25, 5.5, 7.75, 10}));

  QuantileSketch t;
  for (double v : {0.1, 0.2, 0.3, 0.7, 1.1, 2.9, 3.0}) t.Add(v);
  // numpy.histogram(values, bins=20)[0]
  std::vector<uint64_t> want = {2, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  EXPECT_EQ(t.MakeHistogram(0.1, 3.0, 20).counts, want);

  QuantileSketch same;
  same.Add(3);
  same.Add(3);
  h = same.MakeHistogram(3, 3, 4);  // numpy widens a zero range by 0.5 each side
  EXPECT_EQ(h.counts, std::vector<uint64_t>({0, 0, 2, 0}));
  EXPECT_EQ(h.edges, std::vector<double>({2.5, 2.75, 3, 3.25, 3.5}));
  EXPECT_TRUE(same.MakeHistogram(3, INFINITY, 4).counts.empty());
  QuantileSketch none;
  EXPECT_TRUE(none.MakeHistogram(0, 1, 4).counts.empty());
}

// Ranges no arithmetic on (v - min) survives: a constant ±0.5 cannot widen
// (above 2^53), one wider than the largest double, a subnormal one. Each
// value lands in a bin (it once indexed far outside the counts).
TEST(SketchHistogram, ExtremeRanges) {
  QuantileSketch big;
  big.Add(1.7e18);
  big.Add(1.7e18);
  auto h = big.MakeHistogram(1.7e18, 1.7e18, 20);
  EXPECT_EQ(h.counts[10], 2u);
  EXPECT_EQ(std::accumulate(h.counts.begin(), h.counts.end(), uint64_t{0}), 2u);
  QuantileSketch wide;
  for (double v : {-1.7e308, 0.0, 1.7e308}) wide.Add(v);
  h = wide.MakeHistogram(-1.7e308, 1.7e308, 4);
  EXPECT_EQ(h.counts, std::vector<uint64_t>({1, 0, 1, 1}));
  ASSERT_EQ(h.edges.size(), 5u);
  EXPECT_EQ(h.edges[2], 0);
  EXPECT_DOUBLE_EQ(h.edges[1], -0.85e308);
  EXPECT_DOUBLE_EQ(h.edges[3], 0.85e308);
  QuantileSketch tiny;
  tiny.Add(0);
  tiny.Add(5e-324);
  h = tiny.MakeHistogram(0, 5e-324, 20);
  EXPECT_EQ(h.counts.front(), 1u);
  EXPECT_EQ(h.counts.back(), 1u);
}

TEST(SketchHistogram, ScaledFromTheSample) {
  const uint64_t n = 1'000'000;
  QuantileSketch s(50'000);
  for (uint64_t i = 0; i < n; ++i) s.Add(static_cast<double>(i % 1000));
  QuantileSketch::Histogram h = s.MakeHistogram(0, 999, 20);
  ASSERT_EQ(h.counts.size(), 20u);
  EXPECT_EQ(std::accumulate(h.counts.begin(), h.counts.end(), uint64_t{0}), n);
  for (uint64_t c : h.counts) EXPECT_NEAR(static_cast<double>(c), n / 20.0, 0.05 * n / 20.0);
}

TEST(SketchTopValues, ExactCountsAndOrder) {
  TopValues t;
  for (std::string v : {"b", "a", "c", "a", "b", "a", "d"}) t.Add(HashText(v), v);
  EXPECT_TRUE(t.exact());
  std::vector<TopValues::Item> top = t.Top(3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].value, "a");
  EXPECT_EQ(top[0].count, 3u);
  EXPECT_EQ(top[1].value, "b");
  EXPECT_EQ(top[1].count, 2u);
  EXPECT_EQ(top[2].value, "c");  // ties: first appearance first (c before d)
  EXPECT_EQ(top[2].count, 1u);
  EXPECT_EQ(t.Top(10).size(), 4u);
}

// Beyond the limit: heavy hitters stay, counts are lower bounds within max_error.
TEST(SketchTopValues, BoundedSummary) {
  const size_t limit = 100;
  TopValues t(limit);
  std::map<std::string, uint64_t> truth;
  uint64_t n = 0;
  std::mt19937_64 gen(3);
  for (int i = 0; i < 200'000; ++i) {
    std::string v;
    uint64_t r = gen() % 100;
    if (r < 20) v = "heavy-a";
    else if (r < 30) v = "heavy-b";
    else if (r < 35) v = "heavy-c";
    else v = "u" + std::to_string(gen() % 50'000);
    truth[v]++;
    n++;
    t.Add(HashText(v), v);
  }
  EXPECT_FALSE(t.exact());
  EXPECT_LE(t.max_error(), 2 * n / limit);
  std::vector<TopValues::Item> top = t.Top(3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].value, "heavy-a");
  EXPECT_EQ(top[1].value, "heavy-b");
  EXPECT_EQ(top[2].value, "heavy-c");
  for (const auto& item : t.Top(limit)) {
    EXPECT_LE(item.count, truth[item.value]) << item.value;
    EXPECT_GE(item.count + t.max_error(), truth[item.value]) << item.value;
  }
}

// A column of unique values empties the summary at each purge; a value that
// then repeats is found with a count within the bound.
TEST(SketchTopValues, UniqueValuesThenAHeavyOne) {
  TopValues t(64);
  uint64_t n = 0;
  for (int i = 0; i < 100'000; ++i, ++n) t.Add(HashNumber(i), std::to_string(i));
  for (int i = 0; i < 5'000; ++i, ++n) {
    t.Add(HashText("x"), "x");
    t.Add(HashNumber(-i - 1), std::to_string(-i - 1));
    ++n;
  }
  EXPECT_FALSE(t.exact());
  EXPECT_LE(t.max_error(), 2 * n / 64);
  std::vector<TopValues::Item> top = t.Top(1);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].value, "x");
  EXPECT_LE(top[0].count, 5'000u);
  EXPECT_GE(top[0].count + t.max_error(), 5'000u);
}

TEST(SketchMoments, WelfordAsPandas) {
  Moments m;
  EXPECT_TRUE(std::isnan(m.SampleStd()));
  for (double v : {2, 4, 4, 4, 5, 5, 7, 9}) m.Add(v);
  EXPECT_EQ(m.count(), 8u);
  EXPECT_DOUBLE_EQ(m.mean(), 5.0);
  EXPECT_DOUBLE_EQ(m.SampleStd(), std::sqrt(32.0 / 7.0));
  Moments one;
  one.Add(3);
  EXPECT_TRUE(std::isnan(one.SampleStd()));
  // Large offsets do not lose the variance.
  Moments big;
  for (double v : {1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16}) big.Add(v);
  EXPECT_DOUBLE_EQ(big.SampleStd(), std::sqrt(30.0));
}

}  // namespace
}  // namespace cairn::data_internal
