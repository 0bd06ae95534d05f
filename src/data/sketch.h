// Streaming summaries with bounded memory, for profiles (cairn/profile.h):
// distinct counts, quantiles, a histogram, the most frequent values, and
// mean / standard deviation. Each is exact while the column is small and
// switches to a sketch with a documented error when it grows (doc/data.md,
// "Profiles"). Every summary is deterministic: the same values in the same
// order give the same result (the random choices use a fixed seed).
//
// Values are identified by a 64-bit XXH3 hash (HashText, HashNumber), so a
// cell is hashed once and the hash feeds both the distinct counter and the
// top values. Two different values with the same hash count as one; with
// 64 bits that is negligible (about 3e-12 for 10,000 values).
//
// Thread safety: none; each summary is used by one thread at a time.
#ifndef CAIRN_DATA_SKETCH_H_
#define CAIRN_DATA_SKETCH_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::data_internal {

// XXH3_64bits of the bytes.
uint64_t HashText(std::string_view text);
// XXH3_64bits of the value's bits, with -0.0 taken as 0.0 (so 1, 1.0 and
// 1e0 are one value).
uint64_t HashNumber(double value);

// Distinct count: exact (a hash set) up to kExactLimit distinct hashes,
// then a HyperLogLog sketch with 2^14 one-byte registers (16 KiB), read with
// Ertl's improved estimator (no bias tables). Relative standard error of
// the sketch: 1.04 / sqrt(2^14) ≈ 0.81%.
class DistinctCounter {
 public:
  static constexpr size_t kExactLimit = 10'000;
  static constexpr int kPrecision = 14;
  static constexpr double kRelativeError = 0.0081;  // one standard error of the sketch

  DistinctCounter();
  void Add(uint64_t hash);
  // The count: exact while exact(), else the HyperLogLog estimate, rounded.
  uint64_t Count() const;
  bool exact() const { return registers_.empty(); }

 private:
  void InsertExact(uint64_t hash);
  void AddToSketch(uint64_t hash);
  void SwitchToSketch();
  void Grow();

  std::vector<uint64_t> slots_;  // open addressing, at most half full; 0 means empty
  bool has_zero_ = false;        // the hash 0, which marks empty slots
  size_t exact_count_ = 0;
  std::vector<uint8_t> registers_;  // empty while exact
};

// Quantiles and histogram: every value while there are at most
// `capacity` (default 100,000), then a uniform random sample of `capacity`
// values (reservoir sampling, Li's algorithm L: O(1) per value, no random
// draw for most of them). Over the sample, the rank of a reported quantile
// q has a standard error of sqrt(q(1-q)/capacity) of the count: at most
// 0.16% of the rows for the median, 0.03% for p1 and p99.
// `bins` + 1 edges evenly from `lo` to `hi` (numpy.linspace: k·step + lo,
// the last exactly `hi`). A range wider than the largest double is worked
// out in halves (exact: a power of two), where numpy would overflow.
std::vector<double> LinearEdges(double lo, double hi, size_t bins);

class QuantileSketch {
 public:
  static constexpr size_t kDefaultCapacity = 100'000;

  explicit QuantileSketch(size_t capacity = kDefaultCapacity);
  void Add(double value);
  uint64_t count() const { return count_; }
  // True while every value is kept (count() <= capacity).
  bool exact() const { return count_ <= capacity_; }
  // The q-quantiles (0 <= q <= 1) of the kept values with numpy's default
  // linear interpolation: position q·(n-1) between the sorted values.
  // Empty when no value was added.
  std::vector<double> Quantiles(const std::vector<double>& qs);
  // `bins` equal-width bins from `min` to `max` as numpy.histogram makes
  // them (the last bin includes max; min == max widens the range by 0.5 on
  // each side). Counts are exact while exact(); else the sample's counts
  // scaled to count() (largest remainders, so they sum to count()). Empty
  // for bins < 1, no values, or a range that is not finite.
  struct Histogram {
    std::vector<double> edges;  // bins + 1
    std::vector<uint64_t> counts;
  };
  Histogram MakeHistogram(double min, double max, int bins);

 private:
  void Sort();
  double Uniform();  // in (0, 1)
  void ScheduleNext();

  size_t capacity_;
  uint64_t count_ = 0;
  std::vector<double> kept_;
  bool sorted_ = true;
  uint64_t rng_;
  double w_ = 0;
  uint64_t next_ = 0;  // the count at which the next value replaces a kept one
};

// The most frequent values: exact counts while at most kExactLimit (4096)
// distinct values were seen; then the Misra–Gries summary with kExactLimit
// counters (purging by the median count when full, as Apache DataSketches'
// frequent items do). After a purge every reported count is a lower bound
// and the true count lies in [count, count + max_error()], where
// max_error() ≤ 2·n / kExactLimit (0.05% of the values); a value whose
// true count exceeds max_error() is always in the summary.
class TopValues {
 public:
  static constexpr size_t kExactLimit = 4096;

  struct Item {
    std::string value;  // the first spelling seen
    uint64_t count = 0;
  };

  explicit TopValues(size_t limit = kExactLimit);
  // `hash` is HashText or HashNumber of the value; `text` its spelling.
  void Add(uint64_t hash, std::string_view text);
  // The `n` values with the highest counts, ties in order of first
  // appearance.
  std::vector<Item> Top(size_t n) const;
  bool exact() const { return max_error_ == 0; }
  uint64_t max_error() const { return max_error_; }

 private:
  // The probed table is small (24 bytes a slot) so that it stays in cache;
  // what only insertions and Top() need lives beside it.
  struct Slot {
    uint64_t hash = 0;
    uint64_t count = 0;  // 0: the slot is empty
    uint32_t entry = 0;  // index into entries_
    uint32_t generation = 0;  // a slot of an older generation is empty (a purge clears by counting up)
  };
  struct Entry {
    uint64_t first = 0;  // order of first appearance
    std::string text;
  };
  Slot* Find(uint64_t hash);
  void Purge();
  void Grow();

  size_t limit_;
  size_t size_ = 0;
  uint64_t seen_ = 0;
  uint64_t max_error_ = 0;
  uint64_t top_ = 0;          // the highest count in the table
  uint32_t generation_ = 1;
  std::vector<Slot> slots_;  // open addressing, power of two, at most half full (<= 2 * limit rounded up)
  std::vector<Entry> entries_;
  std::vector<Slot> scratch_;      // reused by Purge
  std::vector<Entry> kept_;        // reused by Purge
  std::vector<uint64_t> counts_;   // reused by Purge
};

// Count, mean and variance in one pass (Welford), numerically stable.
class Moments {
 public:
  void Add(double value);
  uint64_t count() const { return count_; }
  double mean() const { return mean_; }
  // Sample standard deviation (ddof = 1, as pandas' std); NaN below two values.
  double SampleStd() const;

 private:
  uint64_t count_ = 0;
  double mean_ = 0;
  double m2_ = 0;
};

}  // namespace cairn::data_internal

#endif  // CAIRN_DATA_SKETCH_H_
