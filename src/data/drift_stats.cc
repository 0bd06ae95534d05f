// The drift statistics of drift_stats.h other than Kolmogorov–Smirnov
// (drift_ks.cc): chi-square, the z-test, and the distances.
#include "data/drift_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "data/sketch.h"

namespace cairn::drift_internal {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double Clip01(double p) { return std::clamp(p, 0.0, 1.0); }

}  // namespace

// ---- chi-square -------------------------------------------------------------

double RegularizedUpperGamma(double a, double x) {
  if (!(a > 0) || !(x >= 0)) return kNaN;
  if (x == 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  constexpr double kEps = 1e-16;
  const double log_prefactor = a * std::log(x) - x - std::lgamma(a);
  if (x < a + 1) {
    // P(a, x) = x^a e^-x / Γ(a+1) · Σ x^k / ((a+1)…(a+k)); Q = 1 - P.
    double term = 1.0 / a, sum = term;
    for (int k = 1; k < 1000000; ++k) {
      term *= x / (a + k);
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * kEps) break;
    }
    return Clip01(1.0 - sum * std::exp(log_prefactor));
  }
  // Q(a, x) = x^a e^-x / Γ(a) · 1/(x+1-a- 1·(1-a)/(x+3-a- 2·(2-a)/(x+5-a- …))),
  // evaluated by the modified Lentz method.
  constexpr double kTiny = 1e-300;
  double b = x + 1 - a, c = 1 / kTiny, d = 1 / b, h = d;
  for (int k = 1; k < 1000000; ++k) {
    const double an = -k * (k - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < kEps) break;
  }
  return Clip01(std::exp(log_prefactor) * h);
}

double ChiSquareSf(double x, double df) {
  if (!(df > 0) || std::isnan(x)) return kNaN;
  if (x <= 0) return 1.0;
  return RegularizedUpperGamma(df / 2, x / 2);
}

TestResult ChiSquare(std::span<const int64_t> reference, std::span<const int64_t> current) {
  TestResult result;
  const double n_ref = static_cast<double>(std::accumulate(reference.begin(), reference.end(), int64_t{0}));
  const double n_cur = static_cast<double>(std::accumulate(current.begin(), current.end(), int64_t{0}));
  if (reference.size() != current.size() || reference.empty() || n_ref == 0 || n_cur == 0) {
    result.statistic = result.p_value = kNaN;
    return result;
  }
  const double scale = n_cur / n_ref;
  double statistic = 0;
  for (size_t k = 0; k < reference.size(); ++k) {
    const double expected = static_cast<double>(reference[k]) * scale;
    const double diff = static_cast<double>(current[k]) - expected;
    statistic += expected == 0 ? std::numeric_limits<double>::infinity() : diff * diff / expected;
  }
  result.statistic = statistic;
  const double df = static_cast<double>(reference.size()) - 1;
  result.p_value = df > 0 ? (std::isinf(statistic) ? 0.0 : ChiSquareSf(statistic, df)) : kNaN;
  return result;
}

// ---- z-test ------------------------------------------------------------------

TestResult ProportionZTest(int64_t ref_other, int64_t ref_n, int64_t cur_other, int64_t cur_n) {
  TestResult result;
  if (ref_n <= 0 || cur_n <= 0) {
    result.statistic = result.p_value = kNaN;
    return result;
  }
  const double n1 = static_cast<double>(ref_n), n2 = static_cast<double>(cur_n);
  const double p1 = static_cast<double>(ref_other) / n1, p2 = static_cast<double>(cur_other) / n2;
  const double pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
  if (pooled <= 0 || pooled >= 1) {  // one value everywhere: Evidently's p = 1
    result.statistic = 0;
    result.p_value = 1;
    return result;
  }
  result.statistic = (p1 - p2) / std::sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2));
  result.p_value = std::erfc(std::fabs(result.statistic) / std::sqrt(2.0));
  return result;
}

// ---- distances -----------------------------------------------------------------

double WassersteinDistance(std::span<const double> a, std::span<const double> b) {
  if (a.empty() || b.empty()) return kNaN;
  // ∫|F_a - F_b| over the merged sample: between consecutive merged values
  // the two CDFs are constant.
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  size_t i = 0, j = 0;
  double sum = 0, previous = std::min(a[0], b[0]);
  while (i < a.size() || j < b.size()) {
    const bool take_a = j == b.size() || (i < a.size() && a[i] <= b[j]);
    const double v = take_a ? a[i] : b[j];
    const double fa = static_cast<double>(i) / na, fb = static_cast<double>(j) / nb;
    sum += std::fabs(fa - fb) * (v - previous);
    previous = v;
    if (take_a) ++i; else ++j;
  }
  return sum;
}

double PopulationStd(std::span<const double> values) {
  if (values.empty()) return kNaN;
  long double mean = 0;
  for (double v : values) mean += v;
  mean /= static_cast<long double>(values.size());
  long double ss = 0;
  for (double v : values) ss += (v - mean) * (v - mean);
  return static_cast<double>(std::sqrt(ss / static_cast<long double>(values.size())));
}

double WassersteinNormed(std::span<const double> reference, std::span<const double> current) {
  if (reference.empty() || current.empty()) return kNaN;
  return WassersteinDistance(reference, current) / std::max(PopulationStd(reference), 0.001);
}

double JensenShannonDistance(std::span<const double> p, std::span<const double> q) {
  if (p.size() != q.size() || p.empty()) return kNaN;
  const double sp = std::accumulate(p.begin(), p.end(), 0.0), sq = std::accumulate(q.begin(), q.end(), 0.0);
  if (!(sp > 0) || !(sq > 0)) return kNaN;
  // rel_entr(x, y) = x·ln(x/y), 0 for x = 0.
  auto rel_entr = [](double x, double y) { return x > 0 ? x * std::log(x / y) : 0.0; };
  double left = 0, right = 0;
  for (size_t k = 0; k < p.size(); ++k) {
    const double pk = p[k] / sp, qk = q[k] / sq, mk = (pk + qk) / 2.0;
    left += rel_entr(pk, mk);
    right += rel_entr(qk, mk);
  }
  return std::sqrt(std::max(left + right, 0.0) / 2.0);
}

std::vector<double> SturgesEdges(double lo, double hi, size_t count) {
  double first = lo, last = hi;
  if (first == last) {
    first -= 0.5;
    last += 0.5;
  }
  // A range wider than the largest double (-1e308 to 1e308) is worked out
  // in halves, as LinearEdges does.
  const double scale = std::isfinite(last - first) ? 1.0 : 0.5;
  size_t bins = 1;
  if (count > 0 && hi > lo) {
    const double width = (hi * scale - lo * scale) / (std::log2(static_cast<double>(count)) + 1.0);
    bins = static_cast<size_t>(std::ceil((last * scale - first * scale) / width));
  }
  return data_internal::LinearEdges(first, last, bins);  // numpy.linspace
}

std::vector<int64_t> HistogramCounts(std::span<const double> values, std::span<const double> edges) {
  if (edges.size() < 2) return {};
  std::vector<int64_t> counts(edges.size() - 1);
  for (size_t k = 0; k + 1 < edges.size(); ++k) {
    const auto begin = std::lower_bound(values.begin(), values.end(), edges[k]);
    const auto end = k + 2 == edges.size() ? std::upper_bound(values.begin(), values.end(), edges[k + 1])
                                           : std::lower_bound(values.begin(), values.end(), edges[k + 1]);
    counts[k] = std::max<int64_t>(end - begin, 0);
  }
  return counts;
}

AlignedCounts CountDistinct(std::span<const double> reference, std::span<const double> current) {
  AlignedCounts out;
  size_t i = 0, j = 0;
  while (i < reference.size() || j < current.size()) {
    const double v = j == current.size() || (i < reference.size() && reference[i] <= current[j]) ? reference[i] : current[j];
    int64_t r = 0, c = 0;
    while (i < reference.size() && reference[i] == v) ++i, ++r;
    while (j < current.size() && current[j] == v) ++j, ++c;
    out.values.push_back(v);
    out.reference.push_back(r);
    out.current.push_back(c);
  }
  return out;
}

size_t DistinctCount(std::span<const double> sorted) {
  size_t count = 0;
  for (size_t k = 0; k < sorted.size(); ++k) count += (k == 0 || sorted[k] != sorted[k - 1]);
  return count;
}

namespace {
std::vector<double> Shares(std::span<const int64_t> counts, double total) {
  std::vector<double> shares(counts.size());
  for (size_t k = 0; k < counts.size(); ++k) shares[k] = static_cast<double>(counts[k]) / total;
  return shares;
}
}  // namespace

double JensenShannonNumeric(std::span<const double> reference, std::span<const double> current) {
  if (reference.empty() || current.empty()) return kNaN;
  const double nr = static_cast<double>(reference.size()), nc = static_cast<double>(current.size());
  if (DistinctCount(reference) > 20) {
    const std::vector<double> edges = SturgesEdges(std::min(reference.front(), current.front()),
                                                   std::max(reference.back(), current.back()),
                                                   reference.size() + current.size());
    return JensenShannonDistance(Shares(HistogramCounts(reference, edges), nr),
                                 Shares(HistogramCounts(current, edges), nc));
  }
  const AlignedCounts counts = CountDistinct(reference, current);
  return JensenShannonDistance(Shares(counts.reference, nr), Shares(counts.current, nc));
}

double JensenShannonCategorical(std::span<const int64_t> reference, std::span<const int64_t> current) {
  const double nr = static_cast<double>(std::accumulate(reference.begin(), reference.end(), int64_t{0}));
  const double nc = static_cast<double>(std::accumulate(current.begin(), current.end(), int64_t{0}));
  if (nr == 0 || nc == 0) return kNaN;
  return JensenShannonDistance(Shares(reference, nr), Shares(current, nc));
}

// ---- PSI ---------------------------------------------------------------------

double Quantile(std::span<const double> sorted, double q) {
  if (sorted.empty()) return kNaN;
  const double index = static_cast<double>(sorted.size() - 1) * q;
  const double below = std::floor(index);
  const size_t lo = static_cast<size_t>(below);
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double t = index - below, a = sorted[lo], b = sorted[hi];
  const double diff = b - a;  // numpy's _lerp: from the nearer end
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

double Psi(std::span<const double> reference_shares, std::span<const double> current_shares) {
  if (reference_shares.size() != current_shares.size() || reference_shares.empty()) return kNaN;
  double psi = 0;
  for (size_t k = 0; k < reference_shares.size(); ++k) {
    const double r = reference_shares[k] > 0 ? reference_shares[k] : kPsiEmptyShare;
    const double c = current_shares[k] > 0 ? current_shares[k] : kPsiEmptyShare;
    psi += (r - c) * std::log(r / c);
  }
  return psi;
}

double PsiNumeric(std::span<const double> reference, std::span<const double> current) {
  if (reference.empty() || current.empty()) return kNaN;
  std::vector<double> edges;
  for (int k = 1; k <= 9; ++k) {
    const double e = Quantile(reference, k / 10.0);
    if (edges.empty() || e != edges.back()) edges.push_back(e);
  }
  // Bin k holds the values in (edges[k-1], edges[k]]: upper_bound counts.
  auto shares = [&](std::span<const double> values) {
    std::vector<double> out(edges.size() + 1);
    size_t below = 0;
    for (size_t k = 0; k < edges.size(); ++k) {
      const size_t upto = static_cast<size_t>(std::upper_bound(values.begin(), values.end(), edges[k]) - values.begin());
      out[k] = static_cast<double>(upto - below) / static_cast<double>(values.size());
      below = upto;
    }
    out[edges.size()] = static_cast<double>(values.size() - below) / static_cast<double>(values.size());
    return out;
  };
  return Psi(shares(reference), shares(current));
}

double PsiCategorical(std::span<const int64_t> reference, std::span<const int64_t> current) {
  const double nr = static_cast<double>(std::accumulate(reference.begin(), reference.end(), int64_t{0}));
  const double nc = static_cast<double>(std::accumulate(current.begin(), current.end(), int64_t{0}));
  if (nr == 0 || nc == 0 || reference.size() != current.size()) return kNaN;
  return Psi(Shares(reference, nr), Shares(current, nc));
}

}  // namespace cairn::drift_internal
