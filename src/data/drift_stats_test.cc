// The drift statistics against the reference implementations. Expected
// values were computed with Debian's python3-scipy 1.10.1 / numpy 1.24.2
// (/usr/bin/python3) on the same inputs, by the expression quoted beside each,
// and pasted here as literals.
#include "data/drift_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace cairn::drift_internal {
namespace {

// |got - want| <= rel·|want| (relative; absolute 1e-300 floor for zeros).
::testing::AssertionResult Near(double got, double want, double rel) {
  if (std::fabs(got - want) <= rel * std::max(std::fabs(want), 1e-300)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (relative error "
                                       << std::fabs(got - want) / std::fabs(want) << ")";
}

// fmod(i·step, 1)·scale for i < n, sorted: a deterministic sample that
// numpy reproduces bit for bit (np.fmod(np.arange(n)*step, 1.0)*scale).
std::vector<double> Weyl(size_t n, double step, double scale, double offset = 0) {
  std::vector<double> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = std::fmod(static_cast<double>(i) * step, 1.0) * scale + offset;
  std::sort(v.begin(), v.end());
  return v;
}

TEST(DriftKsTest, SmallSamplesUseTheExactDistribution) {
  // stats.ks_2samp([0.1,0.5,0.9,1.3,2.0], [0.3,0.4,1.5,2.5,3.0,3.5])
  std::vector<double> a = {0.1, 0.5, 0.9, 1.3, 2.0}, b = {0.3, 0.4, 1.5, 2.5, 3.0, 3.5};
  KsResult r = KolmogorovSmirnov(a, b);
  EXPECT_TRUE(r.exact);
  EXPECT_DOUBLE_EQ(r.statistic, 0.5);
  EXPECT_TRUE(Near(r.p_value, 0.35714285714285715, 1e-12));
  // Equal sizes take the n = m formula: stats.ks_2samp([1..8], [5..12])
  std::vector<double> c = {1, 2, 3, 4, 5, 6, 7, 8}, d = {5, 6, 7, 8, 9, 10, 11, 12};
  r = KolmogorovSmirnov(c, d);
  EXPECT_DOUBLE_EQ(r.statistic, 0.5);
  EXPECT_TRUE(Near(r.p_value, 0.2826728826728826, 1e-12));
}

TEST(DriftKsTest, ExactUpToTenThousandThenAsymptotic) {
  // A = np.fmod(np.arange(11000)*0.6180339887498949, 1.0); B = np.fmod(np.arange(12500)*0.7548776662466927, 1.0)*1.05
  std::vector<double> a = Weyl(11000, 0.6180339887498949, 1.0), b = Weyl(12500, 0.7548776662466927, 1.05);
  KsResult r = KolmogorovSmirnov(a, b);  // stats.ks_2samp(A, B)
  EXPECT_FALSE(r.exact);
  EXPECT_TRUE(Near(r.statistic, 0.047534545454545496, 1e-12));
  EXPECT_TRUE(Near(r.p_value, 6.290961379283223e-12, 1e-9));
  std::vector<double> a3 = Weyl(3000, 0.6180339887498949, 1.0), b4 = Weyl(4000, 0.7548776662466927, 1.05);
  r = KolmogorovSmirnov(a3, b4);  // stats.ks_2samp(A[:3000], B[:4000])
  EXPECT_TRUE(r.exact);
  EXPECT_TRUE(Near(r.statistic, 0.04783333333333333, 1e-12));
  EXPECT_TRUE(Near(r.p_value, 0.0007606333968169479, 1e-9));
}

TEST(DriftKsTest, KolmogorovDistributionCoversEveryRegime) {
  // stats.kstwo.sf(d, n): Durbin (n ≤ 140, small n·d²), Pomeranz, Smirnov
  // sums, Durbin for large n, Pelz–Good for n > 100000.
  struct Case { int64_t n; double d, want; };
  for (const Case& c : {Case{10, 0.3, 0.27053557479999946}, Case{100, 0.05, 0.9532159710635725},
                        Case{100, 0.2, 0.0005551927327988775}, Case{500, 0.04, 0.3902508696049749},
                        Case{500, 0.1, 8.342293067263533e-05}, Case{5000, 0.03, 0.00024159234422666817},
                        Case{200000, 0.002, 0.39995085369038097}, Case{30, 0.6, 7.392006292214292e-11}}) {
    EXPECT_TRUE(Near(KolmogorovTwoSidedSf(c.n, c.d), c.want, 1e-10)) << "n=" << c.n << " d=" << c.d;
  }
  // special.smirnov(n, d)
  EXPECT_TRUE(Near(SmirnovSf(10, 0.3), 0.1354635556, 1e-12));
  EXPECT_TRUE(Near(SmirnovSf(1000, 0.05), 0.006506037390545166, 1e-12));
  EXPECT_TRUE(Near(SmirnovSf(5, 0.9), 9.999999999999989e-06, 1e-12));
  EXPECT_EQ(KolmogorovTwoSidedSf(10, 0.0), 1.0);
  EXPECT_EQ(KolmogorovTwoSidedSf(10, 1.0), 0.0);
}

TEST(DriftKsTest, EdgeCases) {
  std::vector<double> empty, one = {1.0}, constant = {2, 2, 2}, constant2 = {2, 2};
  EXPECT_TRUE(std::isnan(KolmogorovSmirnov(empty, one).statistic));
  EXPECT_TRUE(std::isnan(KolmogorovSmirnov(one, empty).p_value));
  KsResult same = KolmogorovSmirnov(constant, constant2);  // identical constants
  EXPECT_EQ(same.statistic, 0.0);
  EXPECT_EQ(same.p_value, 1.0);
  std::vector<double> other = {3, 3};
  KsResult apart = KolmogorovSmirnov(constant, other);  // stats.ks_2samp([2,2,2],[3,3]) = (1.0, 0.2)
  EXPECT_EQ(apart.statistic, 1.0);
  EXPECT_TRUE(Near(apart.p_value, 0.2, 1e-12));
}

TEST(DriftChiSquareTest, MatchesScipyChisquareOnScaledReferenceCounts) {
  // exp = ref*cur.sum()/ref.sum(); stats.chisquare(cur, exp)
  std::vector<int64_t> ref = {30, 50, 20}, cur = {40, 35, 25};
  TestResult r = ChiSquare(ref, cur);
  EXPECT_TRUE(Near(r.statistic, 9.083333333333334, 1e-12));
  EXPECT_TRUE(Near(r.p_value, 0.010655632358543929, 1e-10));
  std::vector<int64_t> ref4 = {300, 500, 200, 1}, cur4 = {400, 350, 250, 0};
  r = ChiSquare(ref4, cur4);
  EXPECT_TRUE(Near(r.statistic, 91.92416666666665, 1e-12));
  EXPECT_TRUE(Near(r.p_value, 8.457177534833927e-20, 1e-9));
  // special.gammaincc(a, x)
  EXPECT_TRUE(Near(RegularizedUpperGamma(1.0, 2.0), 0.1353352832366127, 1e-12));
  EXPECT_TRUE(Near(RegularizedUpperGamma(2.5, 1.0), 0.8491450360846096, 1e-12));
  EXPECT_TRUE(Near(RegularizedUpperGamma(10, 25), 0.0002214766382487835, 1e-11));
  EXPECT_TRUE(Near(RegularizedUpperGamma(100, 80), 0.9828916869648668, 1e-11));
}

TEST(DriftChiSquareTest, EdgeCases) {
  std::vector<int64_t> ref = {10, 0}, cur = {5, 5};  // a category the reference never saw
  TestResult r = ChiSquare(ref, cur);
  EXPECT_TRUE(std::isinf(r.statistic));
  EXPECT_EQ(r.p_value, 0.0);
  std::vector<int64_t> one_ref = {7}, one_cur = {3};  // one category: df = 0
  r = ChiSquare(one_ref, one_cur);
  EXPECT_EQ(r.statistic, 0.0);
  EXPECT_TRUE(std::isnan(r.p_value));
  std::vector<int64_t> none_ref = {0, 0}, some_cur = {1, 2};  // empty side
  EXPECT_TRUE(std::isnan(ChiSquare(none_ref, some_cur).p_value));
  EXPECT_TRUE(std::isnan(ChiSquareSf(1.0, 0)));
}

TEST(DriftZTest, TwoProportions) {
  // p1=30/100, p2=45/120, P=(p1*n1+p2*n2)/(n1+n2); z=(p1-p2)/sqrt(P*(1-P)*(1/n1+1/n2)); 2*stats.norm.sf(abs(z))
  TestResult r = ProportionZTest(30, 100, 45, 120);
  EXPECT_TRUE(Near(r.statistic, -1.1685534824642432, 1e-12));
  EXPECT_TRUE(Near(r.p_value, 0.24258357934832098, 1e-12));
  // Far tail: 2*norm.sf(|z|) = 1.1754771027210688e-09, where Evidently's
  // 2*(1-norm.cdf(|z|)) gives 1.1754770490313149e-09 (cancellation, 4.6e-8 relative).
  r = ProportionZTest(10, 1000, 60, 1000);
  EXPECT_TRUE(Near(r.statistic, -6.083553443658605, 1e-12));
  EXPECT_TRUE(Near(r.p_value, 1.1754771027210688e-09, 1e-9));
  r = ProportionZTest(0, 10, 0, 20);  // one value on both sides
  EXPECT_EQ(r.p_value, 1.0);
  EXPECT_TRUE(std::isnan(ProportionZTest(0, 0, 1, 2).p_value));
}

TEST(DriftDistanceTest, Wasserstein) {
  // stats.wasserstein_distance(u, v); np.std(u)
  std::vector<double> u = {0.0, 1.0, 3.0}, v = {5.0, 6.0, 8.0};
  EXPECT_TRUE(Near(WassersteinDistance(u, v), 5.0, 1e-15));
  EXPECT_TRUE(Near(PopulationStd(u), 1.247219128924647, 1e-15));
  EXPECT_TRUE(Near(WassersteinNormed(u, v), 4.0089186286863665, 1e-14));
  std::vector<double> u2 = {1.0, 2.0, 2.0, 3.0}, v2 = {2.0, 4.0};
  EXPECT_TRUE(Near(WassersteinDistance(u2, v2), 1.0, 1e-15));
  // A constant reference: std 0, floored at 0.001.
  std::vector<double> constant = {2, 2, 2}, shifted = {2.5};
  EXPECT_TRUE(Near(WassersteinNormed(constant, shifted), 500.0, 1e-12));
  std::vector<double> empty;
  EXPECT_TRUE(std::isnan(WassersteinNormed(empty, u)));
}

TEST(DriftDistanceTest, JensenShannon) {
  // distance.jensenshannon(p, q)
  std::vector<double> p = {0.2, 0.3, 0.5}, q = {0.1, 0.6, 0.3};
  EXPECT_TRUE(Near(JensenShannonDistance(p, q), 0.21590133005580303, 1e-13));
  std::vector<double> p2 = {1, 0, 3}, q2 = {0, 2, 2};  // unnormalised, with zeros
  EXPECT_TRUE(Near(JensenShannonDistance(p2, q2), 0.5220295860189919, 1e-13));
  // R = np.fmod(np.arange(400)*0.6180339887498949,1.0)*10; C = np.fmod(np.arange(300)*0.7548776662466927,1.0)*11+0.5
  // bins = np.histogram_bin_edges(np.concatenate([R,C]), bins='sturges') (12 edges, bins[1] = 1.0429765026172064)
  std::vector<double> r = Weyl(400, 0.6180339887498949, 10), c = Weyl(300, 0.7548776662466927, 11, 0.5);
  std::vector<double> edges = SturgesEdges(std::min(r.front(), c.front()), std::max(r.back(), c.back()), 700);
  ASSERT_EQ(edges.size(), 12u);
  EXPECT_DOUBLE_EQ(edges[1], 1.0429765026172064);
  // distance.jensenshannon(np.histogram(R,bins)[0]/len(R), np.histogram(C,bins)[0]/len(C))
  EXPECT_TRUE(Near(JensenShannonNumeric(r, c), 0.20035007004802888, 1e-13));
  // Few distinct values: shares per value. Categories: the same.
  std::vector<int64_t> rc = {50, 30, 20, 0}, cc = {40, 30, 20, 10};
  EXPECT_TRUE(Near(JensenShannonCategorical(rc, cc), 0.19349646201204068, 1e-13));
  std::vector<double> rv = {1, 1, 1, 1, 1, 2, 2, 2, 3, 3}, cv = {1, 1, 1, 1, 2, 2, 2, 3, 3, 4};
  EXPECT_TRUE(Near(JensenShannonNumeric(rv, cv), 0.19349646201204068, 1e-13));
  // Constant on both sides: distance 0.
  std::vector<double> k1 = {5, 5, 5}, k2 = {5};
  EXPECT_EQ(JensenShannonNumeric(k1, k2), 0.0);
}

// Values spanning the whole double range: the bins are worked out in
// halves, and scaling both sides by a power of two changes nothing.
TEST(DriftDistanceTest, JensenShannonOverTheWholeDoubleRange) {
  std::vector<double> edges = SturgesEdges(-1.7e308, 1.7e308, 1000);
  ASSERT_EQ(edges.size(), 12u);  // ceil(log2(1000) + 1) = 11 bins
  for (size_t k = 0; k < edges.size(); ++k) {
    ASSERT_TRUE(std::isfinite(edges[k])) << k;
    if (k) {
      ASSERT_LT(edges[k - 1], edges[k]);
    }
  }
  EXPECT_EQ(edges.front(), -1.7e308);
  EXPECT_EQ(edges.back(), 1.7e308);
  std::vector<double> r = Weyl(400, 0.6180339887498949, 10), c = Weyl(300, 0.7548776662466927, 11, 0.5);
  const double small = JensenShannonNumeric(r, c);
  // Shifted to [-1, 1] and scaled by 2^1023: the same bins relative to the range.
  auto wide = [](std::vector<double> v) {
    for (double& x : v) x = std::ldexp(x / 5.75 - 1, 1023);
    return v;
  };
  std::vector<double> wr = wide(r), wc = wide(c);
  std::sort(wr.begin(), wr.end());
  std::sort(wc.begin(), wc.end());
  double huge = JensenShannonNumeric(wr, wc);
  ASSERT_TRUE(std::isfinite(huge));
  EXPECT_TRUE(Near(huge, small, 1e-9)) << huge << " vs " << small;
}

TEST(DriftPsiTest, ReferenceDecilesAndEmptyShare) {
  // np.quantile([1,2,4,8], 0.3), (…, 0.7)
  std::vector<double> q = {1.0, 2.0, 4.0, 8.0};
  EXPECT_DOUBLE_EQ(Quantile(q, 0.3), 1.9);
  EXPECT_DOUBLE_EQ(Quantile(q, 0.7), 4.399999999999999);
  // e = np.unique(np.quantile(R, np.arange(1,10)/10)); shares of np.searchsorted(e, v, 'left'),
  // zeros replaced by 1e-4; np.sum((rs-cs)*np.log(rs/cs))
  std::vector<double> r = Weyl(400, 0.6180339887498949, 10), c = Weyl(300, 0.7548776662466927, 11, 0.5);
  EXPECT_TRUE(Near(PsiNumeric(r, c), 0.1526696271464807, 1e-13));
  std::vector<int64_t> rc = {50, 30, 20, 0}, cc = {40, 30, 20, 10};
  EXPECT_TRUE(Near(PsiCategorical(rc, cc), 0.7123991075017365, 1e-13));
  std::vector<double> same = {1, 2, 3, 4, 5};
  EXPECT_EQ(PsiNumeric(same, same), 0.0);
  std::vector<double> empty;
  EXPECT_TRUE(std::isnan(PsiNumeric(empty, same)));
}

}  // namespace
}  // namespace cairn::drift_internal
