// Numeric core of `cairn drift` (cairn/drift.h): the two-sample statistics
// and their p-values, as pure functions over values already in memory. No
// I/O, no allocation beyond the result and small work arrays.
//
// Each function states which reference computation it reproduces (scipy
// 1.10 and numpy 1.24 as Debian ships them, and Evidently's drift tests);
// doc/data.md ("Drift") describes the choices for users and by how much the
// results can differ from those references.
//
// Conventions: "sorted" spans are ascending and hold finite values only
// (the caller drops missing, NaN and infinite cells, as Evidently does).
// A p-value or statistic that is undefined is NaN; callers print it as
// null. All functions are thread-safe (no shared state).
#ifndef CAIRN_DATA_DRIFT_STATS_H_
#define CAIRN_DATA_DRIFT_STATS_H_

#include <cstdint>
#include <span>
#include <vector>

namespace cairn::drift_internal {

struct TestResult {
  double statistic = 0;
  double p_value = 0;  // NaN for distances and where undefined
};

// ---- Kolmogorov–Smirnov ---------------------------------------------------

// The two-sided two-sample KS test as scipy.stats.ks_2samp(a, b) computes it
// with method='auto': the exact distribution when both samples have at most
// 10000 values (and the exact computation succeeds), the asymptotic form
// kstwo.sf(D, round(n·m/(n+m))) otherwise. In exact mode the statistic is
// rounded to the lattice h/lcm(n, m) as scipy does. Both spans sorted and
// non-empty; NaN otherwise. `exact` says which form gave the p-value.
struct KsResult : TestResult {
  bool exact = false;
};
KsResult KolmogorovSmirnov(std::span<const double> a, std::span<const double> b);

// P(D_n >= d) for the one-sample two-sided statistic: scipy.stats.kstwo.sf.
double KolmogorovTwoSidedSf(int64_t n, double d);
// P(D+_n >= d), the one-sided statistic: scipy.special.smirnov.
double SmirnovSf(int64_t n, double d);

// ---- chi-square -------------------------------------------------------------

// Q(a, x) = Γ(a, x)/Γ(a), the regularised upper incomplete gamma function
// (scipy.special.gammaincc). NaN for a <= 0 or x < 0.
double RegularizedUpperGamma(double a, double x);
// scipy.stats.chi2.sf(x, df); NaN for df <= 0.
double ChiSquareSf(double x, double df);

// Evidently's chi-square drift test: over the union of categories (the two
// spans aligned, one entry per category, each category present on at least
// one side), the observed current counts against the reference counts
// scaled to the current size, with scipy.stats.chisquare's statistic and
// p-value (df = categories - 1). A category the reference lacks makes the
// statistic infinite and the p-value 0, as in scipy; one category only gives
// a NaN p-value.
TestResult ChiSquare(std::span<const int64_t> reference, std::span<const int64_t> current);

// ---- two-proportion z-test ----------------------------------------------

// Evidently's z-test for a binary column: `*_other` values of `*_n` differ
// from the column's smallest value. z = (p1 - p2)/sqrt(P(1-P)(1/n1 + 1/n2)),
// p = 2·(1 - Φ(|z|)) (computed as erfc(|z|/√2), which avoids the
// cancellation). When every value on both sides is the same: z = 0, p = 1.
TestResult ProportionZTest(int64_t ref_other, int64_t ref_n, int64_t cur_other, int64_t cur_n);

// ---- distances ------------------------------------------------------------

// scipy.stats.wasserstein_distance(a, b) (1-D, unweighted); both sorted,
// non-empty.
double WassersteinDistance(std::span<const double> a, std::span<const double> b);
// numpy.std(values) (population, ddof = 0); 0 for fewer than one value.
double PopulationStd(std::span<const double> values);
// Evidently's normed Wasserstein distance: the distance divided by
// max(PopulationStd(reference), 0.001).
double WassersteinNormed(std::span<const double> reference, std::span<const double> current);

// scipy.spatial.distance.jensenshannon(p, q) with the natural logarithm:
// both weight vectors are normalised to sum 1 first. Same length, non-negative,
// each with a positive sum; NaN otherwise.
double JensenShannonDistance(std::span<const double> p, std::span<const double> q);

// numpy.histogram_bin_edges(values, bins="sturges") for values of which
// `count` lie between `lo` and `hi` (their minimum and maximum).
std::vector<double> SturgesEdges(double lo, double hi, size_t count);
// numpy.histogram(values, edges)[0]: counts in [e_i, e_i+1), the last bin
// closed; values outside the edges are not counted. `values` sorted.
std::vector<int64_t> HistogramCounts(std::span<const double> values, std::span<const double> edges);

// Per-category counts of two sorted numeric samples over the union of their
// distinct values, in ascending order of value.
struct AlignedCounts {
  std::vector<double> values;
  std::vector<int64_t> reference;
  std::vector<int64_t> current;
};
AlignedCounts CountDistinct(std::span<const double> reference, std::span<const double> current);
// Distinct values in a sorted span.
size_t DistinctCount(std::span<const double> sorted);

// Evidently's Jensen–Shannon test for a numeric column: when the reference
// has more than 20 distinct values, shares in Sturges bins over both samples
// together; otherwise shares per distinct value. Both sorted, non-empty.
double JensenShannonNumeric(std::span<const double> reference, std::span<const double> current);
// The same over category counts (aligned as for ChiSquare).
double JensenShannonCategorical(std::span<const int64_t> reference, std::span<const int64_t> current);

// ---- population stability index ----------------------------------------

// The share that replaces an empty bin or category in the PSI, so that its
// logarithm is defined (the value Evidently uses for the same purpose).
inline constexpr double kPsiEmptyShare = 1e-4;

// numpy.quantile(sorted, q) with the default linear method; sorted non-empty.
double Quantile(std::span<const double> sorted, double q);
// PSI = Σ (r_i - c_i)·ln(r_i / c_i) over shares r, c (empty ones replaced
// by kPsiEmptyShare).
double Psi(std::span<const double> reference_shares, std::span<const double> current_shares);
// PSI of a numeric column over 10 reference-quantile bins: the deciles of the
// reference (numpy.quantile at 0.1 … 0.9, repeated edges merged) cut the line
// into intervals (-inf, q1], (q1, q2], …, (q_last, +inf). Both sorted, non-empty.
double PsiNumeric(std::span<const double> reference, std::span<const double> current);
// PSI over category counts (aligned as for ChiSquare).
double PsiCategorical(std::span<const int64_t> reference, std::span<const int64_t> current);

}  // namespace cairn::drift_internal

#endif  // CAIRN_DATA_DRIFT_STATS_H_
