// DecodeRunRecord and DecodeMetricHistory: run records and metric histories
// are fetched from remotes and read by fsck, reindex and lineage. Neither may
// throw or trip the sanitizers (nlohmann::json converts numbers with casts
// that overflow), and what decodes must re-encode to a fixed point.
#include "fuzz_util.h"
#include "cairn/run_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  std::string_view in = fuzz::AsText(data, size);

  std::optional<Oid> history;
  auto run = DecodeRunRecord(in, "runs/fuzz", &history);
  if (run.ok()) {
    std::string encoded = EncodeRunRecord(*run, history);
    std::optional<Oid> history2;
    auto again = DecodeRunRecord(encoded, "runs/fuzz", &history2);
    FUZZ_CHECK(again.ok(), "Encode of a decoded run record does not decode: " +
                               fuzz::Describe(again.status()) + "\n" + encoded);
    FUZZ_CHECK(history2 == history, "metric history oid changed in Encode -> Decode");
    FUZZ_CHECK(EncodeRunRecord(*again, history2) == encoded,
               "run record encoding is not stable:\n" + encoded);
  } else {
    FUZZ_CHECK(run.status().code() == Code::kCorruption, fuzz::Describe(run.status()));
  }

  auto points = DecodeMetricHistory(in, "history/fuzz");
  if (points.ok()) {
    std::string encoded = EncodeMetricHistory(*points);
    auto again = DecodeMetricHistory(encoded, "history/fuzz");
    FUZZ_CHECK(again.ok(), "Encode of a decoded metric history does not decode: " +
                               fuzz::Describe(again.status()));
    FUZZ_CHECK(again->size() == points->size() && EncodeMetricHistory(*again) == encoded,
               "metric history encoding is not stable:\n" + encoded);
  } else {
    FUZZ_CHECK(points.status().code() == Code::kCorruption, fuzz::Describe(points.status()));
  }
  return 0;
}
