// Streaming summaries of profiles (data/sketch.h).
#include "data/sketch.h"

#include <xxhash.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

namespace cairn::data_internal {
namespace {

// splitmix64: a small, fast generator; seeded with a constant so that
// profiles are reproducible.
uint64_t NextRandom(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

constexpr uint64_t kSeed = 0x63616972'6e736b74ull;  // "cairnskt"

// Slot of `hash` in a power-of-two table (the hash's high bits are
// uniformly distributed; mixing spreads the low ones too).
size_t SlotOf(uint64_t hash, size_t mask) { return static_cast<size_t>((hash ^ (hash >> 29)) * 0x9e3779b97f4a7c15ull >> 17) & mask; }

// Ertl's σ and τ functions (improved HyperLogLog estimator).
double Sigma(double x) {
  if (x == 1.0) return std::numeric_limits<double>::infinity();
  double y = 1, z = x;
  for (;;) {
    x *= x;
    double previous = z;
    z += x * y;
    y += y;
    if (z == previous) return z;
  }
}

double Tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1, z = 1 - x;
  for (;;) {
    x = std::sqrt(x);
    double previous = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z == previous) return z / 3;
  }
}

}  // namespace

uint64_t HashText(std::string_view text) { return XXH3_64bits(text.data(), text.size()); }

uint64_t HashNumber(double value) {
  if (value == 0) value = 0;  // -0.0 is 0.0
  uint64_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return XXH3_64bits(&bits, sizeof bits);
}

// ---- DistinctCounter ----

// The exact tables start small and double as they fill (to half), so that
// a column of few values probes a table that stays in the fastest cache.
constexpr size_t kFirstSlots = 64;

DistinctCounter::DistinctCounter() : slots_(kFirstSlots, 0) {}

void DistinctCounter::Grow() {
  std::vector<uint64_t> old(slots_.size() * 2, 0);
  old.swap(slots_);
  const size_t mask = slots_.size() - 1;
  for (uint64_t h : old) {
    if (h == 0) continue;
    size_t i = SlotOf(h, mask);
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = h;
  }
}

void DistinctCounter::Add(uint64_t hash) {
  if (!registers_.empty()) {
    AddToSketch(hash);
    return;
  }
  InsertExact(hash);
  if (exact_count_ > kExactLimit) SwitchToSketch();
}

void DistinctCounter::InsertExact(uint64_t hash) {
  if (hash == 0) {
    if (!has_zero_) exact_count_++;
    has_zero_ = true;
    return;
  }
  const size_t mask = slots_.size() - 1;
  for (size_t i = SlotOf(hash, mask);; i = (i + 1) & mask) {
    if (slots_[i] == hash) return;
    if (slots_[i] == 0) {
      slots_[i] = hash;
      exact_count_++;
      if (exact_count_ * 2 > slots_.size() && exact_count_ <= kExactLimit) Grow();
      return;
    }
  }
}

void DistinctCounter::AddToSketch(uint64_t hash) {
  constexpr int q = 64 - kPrecision;
  size_t index = static_cast<size_t>(hash >> q);
  uint64_t rest = hash << kPrecision;  // the q low bits, moved to the top
  uint8_t rank = rest == 0 ? static_cast<uint8_t>(q + 1) : static_cast<uint8_t>(std::countl_zero(rest) + 1);
  if (rank > q + 1) rank = q + 1;
  if (rank > registers_[index]) registers_[index] = rank;
}

void DistinctCounter::SwitchToSketch() {
  registers_.assign(size_t{1} << kPrecision, 0);
  for (uint64_t h : slots_) {
    if (h != 0) AddToSketch(h);
  }
  if (has_zero_) AddToSketch(0);
  slots_.clear();
  slots_.shrink_to_fit();
}

uint64_t DistinctCounter::Count() const {
  if (registers_.empty()) return exact_count_;
  constexpr int q = 64 - kPrecision;
  const double m = static_cast<double>(registers_.size());
  std::vector<double> histogram(q + 2, 0);
  for (uint8_t r : registers_) histogram[r]++;
  double z = m * Tau(1 - histogram[q + 1] / m);
  for (int k = q; k >= 1; --k) z = 0.5 * (z + histogram[k]);
  z += m * Sigma(histogram[0] / m);
  const double alpha = 1 / (2 * std::log(2.0));
  return static_cast<uint64_t>(std::llround(alpha * m * m / z));
}

// ---- QuantileSketch ----

std::vector<double> LinearEdges(double lo, double hi, size_t bins) {
  const double scale = std::isfinite(hi - lo) ? 1.0 : 0.5;
  const double step = (hi * scale - lo * scale) / static_cast<double>(bins);
  std::vector<double> edges(bins + 1);
  for (size_t k = 0; k <= bins; ++k) edges[k] = (static_cast<double>(k) * step + lo * scale) / scale;
  edges[bins] = hi;
  return edges;
}

QuantileSketch::QuantileSketch(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)), rng_(kSeed) {}

double QuantileSketch::Uniform() { return (static_cast<double>(NextRandom(&rng_) >> 11) + 0.5) * 0x1.0p-53; }

void QuantileSketch::ScheduleNext() {
  // Algorithm L: the gap to the next replaced value is geometric with
  // parameter w, which shrinks as the count grows.
  double gap = std::floor(std::log(Uniform()) / std::log1p(-w_));
  next_ = count_ + (gap >= 1e18 ? uint64_t{1'000'000'000'000'000'000} : static_cast<uint64_t>(gap)) + 1;
}

void QuantileSketch::Add(double value) {
  count_++;
  if (kept_.size() < capacity_) {
    kept_.push_back(value);
    sorted_ = false;
    if (kept_.size() == capacity_) {
      w_ = std::exp(std::log(Uniform()) / static_cast<double>(capacity_));
      ScheduleNext();
    }
    return;
  }
  if (count_ != next_) return;
  kept_[NextRandom(&rng_) % capacity_] = value;
  sorted_ = false;
  w_ *= std::exp(std::log(Uniform()) / static_cast<double>(capacity_));
  ScheduleNext();
}

void QuantileSketch::Sort() {
  if (sorted_) return;
  std::sort(kept_.begin(), kept_.end());
  sorted_ = true;
}

std::vector<double> QuantileSketch::Quantiles(const std::vector<double>& qs) {
  std::vector<double> out;
  if (kept_.empty()) return out;
  Sort();
  const size_t n = kept_.size();
  for (double q : qs) {
    double pos = std::clamp(q, 0.0, 1.0) * static_cast<double>(n - 1);
    size_t lo = static_cast<size_t>(std::floor(pos));
    size_t hi = std::min(lo + 1, n - 1);
    double frac = pos - static_cast<double>(lo);
    double a = kept_[lo], b = kept_[hi];
    // numpy's lerp: a + (b - a)·t, or b - (b - a)·(1 - t) past the middle.
    double diff = b - a;
    double v = frac >= 0.5 ? b - diff * (1 - frac) : a + diff * frac;
    if (a == b) v = a;
    out.push_back(v);
  }
  return out;
}

QuantileSketch::Histogram QuantileSketch::MakeHistogram(double min, double max, int bins) {
  Histogram h;
  if (bins < 1 || kept_.empty() || !std::isfinite(min) || !std::isfinite(max) || min > max) return h;
  if (min == max) {
    min -= 0.5;
    max += 0.5;
  }
  // A range wider than the largest double is worked out in halves; one
  // that ±0.5 cannot widen (a constant at or above 2^53) stays a point, its
  // values in the middle bin (where numpy puts them).
  const double scale = std::isfinite(max - min) ? 1.0 : 0.5;  // as LinearEdges works it out
  const double width = max * scale - min * scale;
  h.edges = LinearEdges(min, max, static_cast<size_t>(bins));
  std::vector<uint64_t> counts(bins, 0);
  for (double v : kept_) {
    if (!(v >= min && v <= max)) continue;  // NaN or outside (cannot happen for the true min and max)
    int i = bins / 2;
    if (width > 0) {
      const double t = (v * scale - min * scale) / width * bins;  // in [0, bins], also for subnormal ranges
      i = t >= bins ? bins - 1 : t > 0 ? static_cast<int>(t) : 0;
      // Rounding may put a value one bin off its edges: move it back.
      // (Not where the edges collapse, in a subnormal range.)
      if (i > 0 && v < h.edges[i] && h.edges[i - 1] < h.edges[i]) --i;
      if (i < bins - 1 && v >= h.edges[i + 1] && h.edges[i] < h.edges[i + 1]) ++i;
    }
    counts[i]++;
  }
  if (exact()) {
    h.counts = std::move(counts);
    return h;
  }
  // Scale the sample to the count, by largest remainders.
  const double share = static_cast<double>(count_) / static_cast<double>(kept_.size());
  h.counts.resize(bins);
  std::vector<std::pair<double, int>> remainders;
  uint64_t total = 0;
  for (int i = 0; i < bins; ++i) {
    double exact = counts[i] * share;
    h.counts[i] = static_cast<uint64_t>(std::floor(exact));
    total += h.counts[i];
    remainders.emplace_back(exact - std::floor(exact), i);
  }
  std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; total < count_ && k < remainders.size(); ++k, ++total) h.counts[remainders[k].second]++;
  return h;
}

// ---- TopValues ----

TopValues::TopValues(size_t limit) : limit_(std::max<size_t>(limit, 2)) {
  slots_.resize(std::min(kFirstSlots, std::bit_ceil(limit_ * 2)));
}

void TopValues::Grow() {
  std::vector<Slot> old(slots_.size() * 2);
  old.swap(slots_);
  for (const Slot& s : old) {
    if (s.generation == generation_ && s.count != 0) *Find(s.hash) = s;
  }
}

TopValues::Slot* TopValues::Find(uint64_t hash) {
  const size_t mask = slots_.size() - 1;
  for (size_t i = SlotOf(hash, mask);; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.generation != generation_ || s.count == 0) return &s;
    if (s.hash == hash) return &s;
  }
}

void TopValues::Add(uint64_t hash, std::string_view text) {
  seen_++;
  Slot* s = Find(hash);
  if (s->generation == generation_ && s->count != 0) {
    if (++s->count > top_) top_ = s->count;
    return;
  }
  if (size_ == limit_) {
    Purge();
    s = Find(hash);
  } else if ((size_ + 1) * 2 > slots_.size()) {
    Grow();
    s = Find(hash);
  }
  s->hash = hash;
  s->count = 1;
  s->generation = generation_;
  s->entry = static_cast<uint32_t>(entries_.size());
  entries_.push_back(Entry{seen_, std::string(text)});
  size_++;
  if (top_ == 0) top_ = 1;
}

void TopValues::Purge() {
  if (top_ <= 1) {
    // Every count is 1 (say, a column of unique values): the median is 1
    // and every value goes; a new generation empties the table at once.
    max_error_ += 1;
    generation_++;
    entries_.clear();
    size_ = 0;
    top_ = 0;
    return;
  }
  scratch_.clear();
  for (const Slot& s : slots_) {
    if (s.generation == generation_ && s.count != 0) scratch_.push_back(s);
  }
  counts_.resize(scratch_.size());
  for (size_t i = 0; i < scratch_.size(); ++i) counts_[i] = scratch_[i].count;
  auto mid = counts_.begin() + counts_.size() / 2;
  std::nth_element(counts_.begin(), mid, counts_.end());
  const uint64_t cut = *mid;
  max_error_ += cut;
  generation_++;
  kept_.clear();
  size_ = 0;
  top_ = 0;
  for (Slot s : scratch_) {
    if (s.count <= cut) continue;
    s.count -= cut;
    s.generation = generation_;
    top_ = std::max(top_, s.count);
    kept_.push_back(std::move(entries_[s.entry]));
    s.entry = static_cast<uint32_t>(kept_.size() - 1);
    *Find(s.hash) = s;
    size_++;
  }
  entries_.swap(kept_);
}

std::vector<TopValues::Item> TopValues::Top(size_t n) const {
  std::vector<const Slot*> live;
  for (const Slot& s : slots_) {
    if (s.generation == generation_ && s.count != 0) live.push_back(&s);
  }
  auto better = [&](const Slot* a, const Slot* b) {
    return a->count != b->count ? a->count > b->count : entries_[a->entry].first < entries_[b->entry].first;
  };
  size_t k = std::min(n, live.size());
  std::partial_sort(live.begin(), live.begin() + k, live.end(), better);
  std::vector<Item> out;
  for (size_t i = 0; i < k; ++i) out.push_back(Item{entries_[live[i]->entry].text, live[i]->count});
  return out;
}

// ---- Moments ----

void Moments::Add(double value) {
  count_++;
  double delta = value - mean_;
  mean_ += delta / static_cast<double>(count_);
  m2_ += delta * (value - mean_);
}

double Moments::SampleStd() const {
  if (count_ < 2) return std::numeric_limits<double>::quiet_NaN();
  return std::sqrt(m2_ / static_cast<double>(count_ - 1));
}

}  // namespace cairn::data_internal
