// The Kolmogorov–Smirnov part of drift_stats.h. The one-sample Kolmogorov
// distribution follows the selection scipy makes (Simard & L'Ecuyer 2011)
// among Durbin's matrix, Pomeranz's recursion, Pelz–Good and the Smirnov
// sum; the exact two-sample case follows Hodges (1958) with Viehmann's (2021)
// recursion for 1 - p. Written from those descriptions.
#include "data/drift_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

namespace cairn::drift_internal {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kPi = 3.14159265358979323846;
constexpr int kScaleExp = 128;  // rescale by 2^128 to keep products in range
const double kBig = std::ldexp(1.0, kScaleExp);
const double kSmall = std::ldexp(1.0, -kScaleExp);

double Clip01(double p) { return std::clamp(p, 0.0, 1.0); }

int64_t FloorDiv(int64_t a, int64_t b) {  // b > 0
  int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
int64_t CeilDiv(int64_t a, int64_t b) { return -FloorDiv(-a, b); }

// ---- exact two-sample distribution ----------------------------------------

// P(D_{n,n} >= h/n): 2·Σ_k (-1)^(k+1) C(2n, n-kh)/C(2n, n), evaluated from
// the innermost term outwards so that no large binomial is formed.
double ProbOutsideSquare(int64_t n, int64_t h) {
  double p = 0;
  for (int64_t k = n / h; k >= 0; --k) {
    double ratio = 1.0;
    for (int64_t j = 0; j < h; ++j) {
      ratio = static_cast<double>(n - k * h - j) * ratio / static_cast<double>(n + k * h + j + 1);
    }
    p = ratio * (1.0 - p);
  }
  return 2 * p;
}

// The share of monotone lattice paths from (0,0) to (m,n) that leave the band
// |x/m - y/n| < h/lcm(m,n), by the column recursion over the band that keeps
// 1 - (share inside) directly (Viehmann 2021), so no cancellation occurs.
double ProbOutsideBand(int64_t m, int64_t n, int64_t g, int64_t h) {
  if (m < n) std::swap(m, n);
  const int64_t mg = m / g, ng = n / g;
  int64_t lo = 0;
  int64_t hi = std::min(CeilDiv(h, mg), n + 1);
  int64_t width = hi - lo;
  std::vector<double> column(static_cast<size_t>(std::min(2 * hi + 2, n + 1)), 1.0);
  std::fill(column.begin(), column.begin() + hi, 0.0);
  for (int64_t i = 1; i <= m; ++i) {
    const int64_t last_lo = lo, last_width = width;
    lo = std::min(std::max(FloorDiv(ng * i - h, mg) + 1, int64_t{0}), n);
    hi = std::min(CeilDiv(ng * i + h, mg), n + 1);
    if (hi <= lo) return 1.0;
    double value = lo == 0 ? 0.0 : 1.0;
    for (int64_t k = 0; k < hi - lo; ++k) {
      const int64_t j = k + lo;
      const double left = column[static_cast<size_t>(k + lo - last_lo)];
      value = (left * static_cast<double>(i) + value * static_cast<double>(j)) / static_cast<double>(i + j);
      column[static_cast<size_t>(k)] = value;
    }
    width = hi - lo;
    for (int64_t k = width; k < width + std::max(last_width - width, int64_t{0}); ++k) {
      if (k < static_cast<int64_t>(column.size())) column[static_cast<size_t>(k)] = 1.0;
    }
  }
  return column[static_cast<size_t>(hi - lo - 1)];
}

// ---- one-sample Kolmogorov distribution (kstwo) ----------------------------

// log(n!/n^n) by Stirling's series.
double LogFactorialOverPower(double n) {
  static constexpr double kCoeffs[] = {-2.955065359477124183e-2, 6.4102564102564102564e-3,
                                       -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                                       -5.952380952380952381e-4, 7.9365079365079365079e-4,
                                       -2.7777777777777777778e-3, 8.3333333333333333333e-2};
  const double rn = 1.0 / n, y = rn / n;
  double poly = 0;
  for (double c : kCoeffs) poly = poly * y + c;
  return std::log(n) / 2 - n + std::log(2 * kPi) / 2 + rn * poly;
}

using Matrix = std::vector<double>;  // square, row-major

Matrix Multiply(const Matrix& a, const Matrix& b, size_t m) {
  Matrix c(m * m, 0.0);
  for (size_t i = 0; i < m; ++i) {
    for (size_t k = 0; k < m; ++k) {
      const double aik = a[i * m + k];
      if (aik == 0) continue;
      for (size_t j = 0; j < m; ++j) c[i * m + j] += aik * b[k * m + j];
    }
  }
  return c;
}

// P(D_n <= d) by Durbin's matrix formula (Marsaglia, Tsang & Wang 2003).
double KolmogorovCdfDurbin(int64_t n, double d) {
  if (d >= 1.0) return 1.0;
  const double nd = static_cast<double>(n) * d;
  if (nd <= 0.5) return 0.0;
  const int64_t k = static_cast<int64_t>(std::ceil(nd));
  const double h = static_cast<double>(k) - nd;
  const size_t m = static_cast<size_t>(2 * k - 1);
  std::vector<double> v(m), w(m);
  double fact = 1.0;  // 1/j!
  for (size_t j = 1; j <= m; ++j) {
    w[j - 1] = fact;
    fact /= static_cast<double>(j);
    v[j - 1] = (1.0 - std::pow(h, static_cast<double>(j))) * fact;
  }
  const double tail = std::pow(std::max(2 * h - 1.0, 0.0), static_cast<double>(m)) -
                      2 * std::pow(h, static_cast<double>(m));
  v[m - 1] = (1.0 + tail) * fact;
  Matrix hm(m * m, 0.0);
  for (size_t col = 1; col < m; ++col) {
    for (size_t row = col - 1; row < m; ++row) hm[row * m + col] = w[row - (col - 1)];
  }
  for (size_t row = 0; row < m; ++row) hm[row * m] = v[row];
  for (size_t col = 0; col < m; ++col) hm[(m - 1) * m + col] = v[m - 1 - col];

  Matrix power(m * m, 0.0);
  for (size_t i = 0; i < m; ++i) power[i * m + i] = 1.0;
  int64_t exponent = 0, h_exponent = 0;
  for (int64_t e = n; e > 0; e /= 2) {
    if (e % 2) {
      power = Multiply(power, hm, m);
      exponent += h_exponent;
    }
    hm = Multiply(hm, hm, m);
    h_exponent *= 2;
    const size_t kk = static_cast<size_t>(k - 1);
    if (std::fabs(hm[kk * m + kk]) > kBig) {
      for (double& x : hm) x /= kBig;
      h_exponent += kScaleExp;
    }
  }
  double p = power[static_cast<size_t>(k - 1) * m + static_cast<size_t>(k - 1)];
  for (int64_t i = 1; i <= n; ++i) {
    p = static_cast<double>(i) * p / static_cast<double>(n);
    if (std::fabs(p) < kSmall) {
      p *= kBig;
      exponent -= kScaleExp;
    }
  }
  if (exponent != 0) p = std::ldexp(p, static_cast<int>(exponent));
  return Clip01(p);
}

// The band of non-zero entries in row i of Pomeranz's recursion.
std::pair<int64_t, int64_t> PomeranzBand(int64_t i, int64_t n, int64_t ll, int64_t ceilf, int64_t roundf) {
  int64_t j1, j2;
  if (i == 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const int64_t half = (i + 1) / 2;
    if ((i + 1) % 2 == 0) {
      if (half == n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return {std::max(j1 + 2, int64_t{0}), std::min(j2, n)};
}

// P(D_n <= x) by Pomeranz's recursion (1974): rows are convolutions of the
// previous row with truncated Poisson weights.
double KolmogorovCdfPomeranz(int64_t n, double x) {
  const double t = static_cast<double>(n) * x;
  const int64_t ll = static_cast<int64_t>(std::floor(t));
  const double f = t - static_cast<double>(ll);
  const double g = std::min(f, 1.0 - f);
  const int64_t ceilf = f > 0 ? 1 : 0, roundf = f > 0.5 ? 1 : 0;
  const size_t npowers = static_cast<size_t>(2 * (ll + 1));
  std::vector<double> gpow(npowers), twogpow(npowers), restpow(npowers);
  gpow[0] = twogpow[0] = restpow[0] = 1.0;
  const double dn = static_cast<double>(n);
  for (size_t k = 1; k < npowers; ++k) {
    const double dk = static_cast<double>(k);
    gpow[k] = gpow[k - 1] * (g / dn) / dk;
    twogpow[k] = twogpow[k - 1] * (2 * g / dn) / dk;
    restpow[k] = restpow[k - 1] * ((1 - 2 * g) / dn) / dk;
  }
  std::vector<double> prev(npowers, 0.0), cur(npowers, 0.0);
  cur[0] = 1.0;
  int64_t prev_start = 0, cur_start = 0, exponent = 0;
  int64_t j1, j2;
  std::tie(j1, j2) = PomeranzBand(0, n, ll, ceilf, roundf);
  for (int64_t i = 1; i < 2 * n + 2; ++i) {
    const int64_t k1 = j1;
    std::swap(prev, cur);
    std::swap(prev_start, cur_start);
    std::fill(cur.begin(), cur.end(), 0.0);
    std::tie(j1, j2) = PomeranzBand(i, n, ll, ceilf, roundf);
    const std::vector<double>& weights = (i == 1 || i == 2 * n + 1) ? gpow : (i % 2 ? twogpow : restpow);
    const int64_t len = j2 - k1 + 1;
    if (len <= 0) continue;
    // Full convolution of prev[k1 - prev_start …][0, len) with weights[0, len),
    // of which entries [j1 - k1, j2 - k1] are kept.
    const int64_t base = k1 - prev_start;
    const int64_t avail = std::clamp(static_cast<int64_t>(npowers) - base, int64_t{0}, len);
    const int64_t out_start = j1 - k1, out_len = j2 - j1 + 1;
    double peak = 0;
    for (int64_t o = 0; o < out_len; ++o) {
      const int64_t tpos = out_start + o;
      double sum = 0;
      for (int64_t s = std::max(int64_t{0}, tpos - (len - 1)); s <= std::min(tpos, avail - 1); ++s) {
        sum += prev[static_cast<size_t>(base + s)] * weights[static_cast<size_t>(tpos - s)];
      }
      cur[static_cast<size_t>(o)] = sum;
      peak = std::max(peak, sum);
    }
    if (peak > 0 && peak < kSmall) {
      for (double& x : cur) x *= kBig;
      exponent -= kScaleExp;
    }
    cur_start = prev_start + j1 - k1;
  }
  double answer = cur[static_cast<size_t>(n - cur_start)];
  for (int64_t k = 1; k <= n; ++k) {
    if (std::fabs(answer) > kBig) {
      answer *= kSmall;
      exponent += kScaleExp;
    }
    answer *= static_cast<double>(k);
  }
  if (exponent != 0) answer = std::ldexp(answer, static_cast<int>(exponent));
  return Clip01(answer);
}

// P(D_n <= x) by the Pelz–Good asymptotic series (1976).
double KolmogorovCdfPelzGood(int64_t n, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double z = std::sqrt(static_cast<double>(n)) * x;
  const double z2 = z * z, z3 = z2 * z, z4 = z2 * z2, z6 = z4 * z2;
  const double pi2 = kPi * kPi, pi4 = pi2 * pi2, pi6 = pi4 * pi2;
  const double qlog = -pi2 / 8 / z2;
  if (qlog < -708) return 0.0;
  double q = std::exp(qlog);
  const double k1a = -z2, k1b = pi2 / 4;
  const double k2a = 6 * z6 + 2 * z4, k2b = (2 * z4 - 5 * z2) * pi2 / 4, k2c = pi4 * (1 - 2 * z2) / 16;
  const double k3d = pi6 * (5 - 30 * z2) / 64, k3c = pi4 * (-60 * z2 + 212 * z4) / 16;
  const double k3b = pi2 * (135 * z4 - 96 * z6) / 4, k3a = -30 * z6 - 90 * std::pow(z, 8);
  double terms[4] = {0, 0, 0, 0};
  const int64_t maxk = static_cast<int64_t>(std::ceil(16 * z / kPi));
  for (int64_t k = maxk; k > 0; --k) {
    const double m = static_cast<double>(2 * k - 1);
    const double m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
    const double qpower = std::pow(q, static_cast<double>(8 * k));
    const double coeffs[4] = {1.0, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4,
                              k3a + k3b * m2 + k3c * m4 + k3d * m6};
    for (int i = 0; i < 4; ++i) terms[i] = terms[i] * qpower + coeffs[i];
  }
  const double sqrt2pi = std::sqrt(2 * kPi);
  const double divisors[4] = {z, 6 * z4, 72 * std::pow(z, 7), 6480 * std::pow(z, 10)};
  for (int i = 0; i < 4; ++i) terms[i] = terms[i] * q * sqrt2pi / divisors[i];
  q = std::exp(-pi2 / 2 / z2);
  double k2extra = 0, k3extra = 0;
  const double sqrt3z = std::sqrt(3.0) * z;
  for (int64_t k = maxk; k > 0; --k) {
    const double dk = static_cast<double>(k), k2 = dk * dk;
    const double qp = std::pow(q, k2), kpi = kPi * dk;
    k2extra += k2 * qp;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qp;
  }
  terms[2] += k2extra * pi2 * sqrt2pi / (-36 * z3);
  terms[3] += k3extra * pi2 * sqrt2pi / (216 * z6);
  double sum = 0;
  for (int i = 0; i < 4; ++i) sum += terms[i] / std::pow(static_cast<double>(n), i / 2.0);
  return sum;
}

}  // namespace

// ---- Smirnov (one-sided) ------------------------------------------------------

double SmirnovSf(int64_t n, double x) {
  if (!(n > 0 && x >= 0.0 && x <= 1.0)) return kNaN;
  if (n == 1) return 1 - x;
  if (x == 0.0) return 1.0;
  if (x == 1.0) return 0.0;
  const long double ln = static_cast<long double>(n), lx = x;
  const long double nx = ln * lx;
  const int64_t nx_floor = static_cast<int64_t>(std::floor(nx));
  const bool on_lattice = nx == static_cast<long double>(nx_floor);
  if (nx_floor == 0 || (nx_floor == 1 && on_lattice)) {  // x <= 1/n: cdf = x(1+x)^(n-1)
    return Clip01(1 - static_cast<double>(lx * std::pow(1 + lx, ln - 1)));
  }
  if (-2 * static_cast<double>(n) * x * x < -708.3964185322641) return 0.0;
  if (nx_floor >= n - 1) return Clip01(static_cast<double>(std::pow(1 - lx, ln)));
  if (n > 1000000) {  // the sum would take too long; scipy uses the same approximation
    const double dn = static_cast<double>(n);
    const double logp = -std::pow(6.0 * dn * x + 1, 2) / 18.0 / dn;
    return Clip01(logp < -std::log(2.0) ? std::exp(logp) : 1 - -std::expm1(logp));
  }
  // Birnbaum–Tingey: P(D+ >= x) = x Σ_{v=0}^{⌊n(1-x)⌋} C(n,v) (x+v/n)^(v-1) (1-x-v/n)^(n-v).
  // Every term is positive, so summing them in extended precision from
  // logarithms keeps the relative error near the rounding of lgamma.
  // v runs to ⌊n(1-x)⌋ = n - ⌊nx⌋ - 1 off the lattice; on it, the last term
  // (1-x-v/n = 0) vanishes, so the bound is the same.
  const int64_t last = n - nx_floor - 1;
  const long double log_n_fact = std::lgamma(ln + 1);
  long double sum = 0;
  for (int64_t v = 0; v <= last; ++v) {
    const long double lv = static_cast<long double>(v);
    const long double a = lx + lv / ln, b = 1 - lx - lv / ln;
    if (b <= 0) break;
    const long double log_term = log_n_fact - std::lgamma(lv + 1) - std::lgamma(ln - lv + 1) +
                                 (lv - 1) * std::log(a) + (ln - lv) * std::log(b);
    sum += std::exp(log_term);
  }
  return Clip01(static_cast<double>(lx * sum));
}

double KolmogorovTwoSidedSf(int64_t n, double x) {
  if (n <= 0 || std::isnan(x)) return kNaN;
  if (x >= 1.0) return 0.0;
  if (x <= 0.0) return 1.0;
  const double dn = static_cast<double>(n);
  const double t = dn * x;
  if (t <= 1.0) {  // Ruben–Gambino: cdf = n!/n^n (2t-1)^n
    if (t <= 0.5) return 1.0;
    double cdf;
    if (n <= 140) {
      cdf = 1.0;
      for (int64_t i = 1; i <= n; ++i) cdf *= static_cast<double>(i) * (1.0 / dn) * (2 * t - 1);
    } else {
      cdf = std::exp(LogFactorialOverPower(dn) + dn * std::log(2 * t - 1));
    }
    return Clip01(1.0 - Clip01(cdf));
  }
  if (t >= dn - 1) return Clip01(2 * std::pow(1.0 - x, dn));
  if (x >= 0.5) return Clip01(2 * SmirnovSf(n, x));
  const double nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693) return Clip01(1.0 - KolmogorovCdfDurbin(n, x));
    if (nx2 <= 4) return Clip01(1.0 - KolmogorovCdfPomeranz(n, x));
    return Clip01(2 * SmirnovSf(n, x));
  }
  if (nx2 >= 370.0) return 0.0;
  if (nx2 >= 2.2) return Clip01(2 * SmirnovSf(n, x));
  double cdf;
  if (nx2 >= 18.0) {
    cdf = 1.0;
  } else if (n <= 100000 && dn * std::pow(x, 1.5) <= 1.4) {
    cdf = KolmogorovCdfDurbin(n, x);
  } else {
    cdf = Clip01(KolmogorovCdfPelzGood(n, x));
  }
  return Clip01(1.0 - cdf);
}

KsResult KolmogorovSmirnov(std::span<const double> a, std::span<const double> b) {
  KsResult result;
  if (a.empty() || b.empty()) {
    result.statistic = result.p_value = kNaN;
    return result;
  }
  const int64_t n1 = static_cast<int64_t>(a.size()), n2 = static_cast<int64_t>(b.size());
  // The largest gap between the two empirical CDFs, evaluated after each
  // distinct value (scipy: searchsorted(side='right') at every data point).
  double max_diff = 0, min_diff = 0;
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    const double v = j == b.size() || (i < a.size() && a[i] <= b[j]) ? a[i] : b[j];
    while (i < a.size() && a[i] <= v) ++i;
    while (j < b.size() && b[j] <= v) ++j;
    const double diff = static_cast<double>(i) / static_cast<double>(n1) - static_cast<double>(j) / static_cast<double>(n2);
    max_diff = std::max(max_diff, diff);
    min_diff = std::min(min_diff, diff);
  }
  const double min_s = std::clamp(-min_diff, 0.0, 1.0);
  double d = min_s > max_diff ? min_s : max_diff;

  const int64_t g = std::gcd(n1, n2);
  double p = kNaN;
  bool exact = std::max(n1, n2) <= 10000;
  if (exact) {
    const int64_t lcm = (n1 / g) * n2;
    const int64_t h = static_cast<int64_t>(std::nearbyint(d * static_cast<double>(lcm)));
    d = static_cast<double>(h) / static_cast<double>(lcm);
    if (h == 0) {
      p = 1.0;
    } else {
      p = n1 == n2 ? ProbOutsideSquare(n1, h) : ProbOutsideBand(n1, n2, g, h);
      if (!std::isfinite(p) || p < 0 || p > 1) exact = false;  // scipy falls back to the asymptotic form
    }
  }
  if (!exact) {
    const double m = static_cast<double>(std::max(n1, n2)), n = static_cast<double>(std::min(n1, n2));
    const double en = m * n / (m + n);
    p = KolmogorovTwoSidedSf(static_cast<int64_t>(std::nearbyint(en)), d);
  }
  result.statistic = d;
  result.p_value = Clip01(p);
  result.exact = exact;
  return result;
}

}  // namespace cairn::drift_internal
