// The bodies of the derived objects this module writes (profiles,
// validation results), checked whenever one is loaded (cairn/derived.h,
// CheckDerivedBody): an object from a remote, a planted file or a future
// writer that lacks a field or holds one of another type, or whose numbers
// cannot belong together, is damaged, never read back.
#include <cmath>
#include <string>

#include "cairn/derived.h"
#include "cairn/profile.h"
#include "cairn/validate.h"

namespace cairn {
namespace {

// Collects the first problem; each check returns whether the value passed.
class Checker {
 public:
  explicit Checker(std::string what) : what_(std::move(what)) {}

  bool Fail(const std::string& where, const std::string& why) {
    if (problem_.empty()) problem_ = where + " " + why;
    return false;
  }
  const Json* Field(const Json& obj, const std::string& where, const char* key) {
    if (!obj.is_object()) return Fail(where, "is not an object"), nullptr;
    auto it = obj.find(key);
    if (it == obj.end()) return Fail(where + "." + key, "is missing"), nullptr;
    return &*it;
  }
  bool Unsigned(const Json& obj, const std::string& where, const char* key, uint64_t* out = nullptr) {
    const Json* v = Field(obj, where, key);
    if (!v) return false;
    if (!Count(*v)) return Fail(where + "." + key, "is not a whole number of 0 or more");
    if (out) *out = v->get<uint64_t>();
    return true;
  }
  static bool Count(const Json& v) {
    return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
  }
  bool Bool(const Json& obj, const std::string& where, const char* key) {
    const Json* v = Field(obj, where, key);
    return v && (v->is_boolean() || Fail(where + "." + key, "is not true or false"));
  }
  bool String(const Json& obj, const std::string& where, const char* key) {
    const Json* v = Field(obj, where, key);
    return v && (v->is_string() || Fail(where + "." + key, "is not a string"));
  }
  // A number as NumberJson writes it: a number, "inf"/"-inf", or null.
  bool Scalar(const Json& obj, const std::string& where, const char* key, bool text_ok = false) {
    const Json* v = Field(obj, where, key);
    if (!v) return false;
    if (v->is_null() || v->is_number()) return true;
    if (v->is_string() && (text_ok || *v == "inf" || *v == "-inf")) return true;
    return Fail(where + "." + key, "is not a number");
  }
  Status Result() const {
    if (problem_.empty()) return Status::OK();
    return Status::Corruption("a damaged " + what_ + ": " + problem_,
                              "'cairn fsck --repair' removes it; it is computed again when asked for");
  }

 private:
  std::string what_;
  std::string problem_;
};

bool KnownType(const std::string& name) {
  for (ColumnType t : {ColumnType::kUnknown, ColumnType::kBoolean, ColumnType::kInteger, ColumnType::kNumber,
                       ColumnType::kString}) {
    if (name == ColumnTypeName(t)) return true;
  }
  return false;
}

void CheckColumn(Checker& k, const Json& c, const std::string& where, uint64_t rows) {
  uint64_t count = 0, nulls = 0, distinct = 0;
  if (!k.String(c, where, "name") || !k.String(c, where, "type")) return;
  if (!KnownType(c.at("type").get<std::string>())) {
    k.Fail(where + ".type", "is not a column type");
    return;
  }
  if (!k.Unsigned(c, where, "count", &count) || !k.Unsigned(c, where, "nulls", &nulls) ||
      !k.Unsigned(c, where, "distinct", &distinct) || !k.Bool(c, where, "distinct_exact") ||
      !k.Scalar(c, where, "null_share") || !k.Scalar(c, where, "min", true) || !k.Scalar(c, where, "max", true) ||
      !k.Scalar(c, where, "mean") || !k.Scalar(c, where, "std") || !k.Bool(c, where, "quantiles_exact") ||
      !k.Bool(c, where, "top_values_exact") || !k.Unsigned(c, where, "top_values_max_error")) {
    return;
  }
  if (count + nulls != rows) {
    k.Fail(where, "counts " + std::to_string(count) + " values and " + std::to_string(nulls) + " nulls in " +
                      std::to_string(rows) + " rows");
    return;
  }
  if (c.at("distinct_exact").get<bool>() && distinct > count) {
    k.Fail(where, "has more distinct values than values");
    return;
  }
  // Numbers that cannot belong together (the stored figures are shown as
  // the data's; NumberJson writes inf as text, so only numbers are compared).
  const Json &min = c.at("min"), &max = c.at("max"), &std_dev = c.at("std"), &share = c.at("null_share");
  if (min.is_number() && max.is_number() && min.get<double>() > max.get<double>()) {
    k.Fail(where, "has its min above its max");
    return;
  }
  if (std_dev.is_number() && !(std_dev.get<double>() >= 0)) {
    k.Fail(where + ".std", "is negative");
    return;
  }
  if (share.is_number() && rows > 0 &&
      std::fabs(share.get<double>() - static_cast<double>(nulls) / static_cast<double>(rows)) > 1e-9) {
    k.Fail(where + ".null_share", "is not nulls / rows");
    return;
  }
  const Json& q = *k.Field(c, where, "quantiles");
  if (!q.is_null()) {
    double previous = -HUGE_VAL;
    for (const std::string& name : ProfileQuantileNames()) {
      if (!k.Scalar(q, where + ".quantiles", name.c_str())) return;
      const Json& v = q.at(name);
      if (!v.is_number()) continue;
      const double x = v.get<double>();
      if (x < previous || (min.is_number() && x < min.get<double>()) || (max.is_number() && x > max.get<double>())) {
        k.Fail(where + ".quantiles." + name, "is out of order or outside min and max");
        return;
      }
      previous = x;
    }
  }
  const Json* top = k.Field(c, where, "top_values");
  if (!top) return;
  if (!top->is_array()) {
    k.Fail(where + ".top_values", "is not a list");
    return;
  }
  for (const Json& t : *top) {
    uint64_t n = 0;
    if (!k.String(t, where + ".top_values[]", "value") || !k.Unsigned(t, where + ".top_values[]", "count", &n)) return;
    if (n > count) {
      k.Fail(where + ".top_values[]", "counts more than the column's values");
      return;
    }
  }
  const Json* h = k.Field(c, where, "histogram");
  if (!h || h->is_null()) return;
  const Json* edges = k.Field(*h, where + ".histogram", "edges");
  const Json* counts = k.Field(*h, where + ".histogram", "counts");
  if (!edges || !counts || !k.Bool(*h, where + ".histogram", "exact")) return;
  if (!edges->is_array() || !counts->is_array() || edges->size() < 2 || counts->size() + 1 != edges->size()) {
    k.Fail(where + ".histogram", "does not have one more edge than counts");
    return;
  }
  for (const Json& e : *edges) {
    if (!e.is_number() && !(e.is_string() && (e == "inf" || e == "-inf"))) {
      k.Fail(where + ".histogram.edges", "holds something other than numbers");
      return;
    }
  }
  uint64_t sum = 0;
  for (const Json& n : *counts) {
    if (!Checker::Count(n)) {
      k.Fail(where + ".histogram.counts", "holds something other than counts");
      return;
    }
    sum += n.get<uint64_t>();
  }
  if (sum > count) k.Fail(where + ".histogram", "counts more values than the column has");
}

Status CheckProfileBody(const Json& body, const std::string& key) {
  Checker k("stored profile");
  uint64_t rows = 0;
  uint64_t version = 0;
  if (!k.Unsigned(body, "profile", "profile_version", &version)) return k.Result();
  if (version != static_cast<uint64_t>(kProfileVersion)) return Status::OK();  // not read: computed again
  if (!k.String(body, "profile", "format") || !k.Unsigned(body, "profile", "rows", &rows)) return k.Result();
  if (!key.empty() && body.at("format") != key) {
    k.Fail("profile.format", "is not " + key + ", the format its ref names");
    return k.Result();
  }
  if (body.contains("delimiter") && !k.String(body, "profile", "delimiter")) return k.Result();
  if (body.contains("header") && !k.Bool(body, "profile", "header")) return k.Result();
  const Json* columns = k.Field(body, "profile", "columns");
  if (columns && !columns->is_array()) k.Fail("profile.columns", "is not a list");
  if (columns && columns->is_array()) {
    for (size_t i = 0; i < columns->size(); ++i) {
      CheckColumn(k, (*columns)[i], "profile.columns[" + std::to_string(i) + "]", rows);
    }
  }
  return k.Result();
}

Status CheckValidationBody(const Json& body) {
  Checker k("stored validation result");
  if (!k.Unsigned(body, "validation", "validation_version") || !k.String(body, "validation", "ref")) return k.Result();
  const Json* suite = k.Field(body, "validation", "suite");
  if (!suite || !k.String(*suite, "validation.suite", "name") || !k.String(*suite, "validation.suite", "file") ||
      !k.String(*suite, "validation.suite", "digest")) {
    return k.Result();
  }
  const Json* result = k.Field(body, "validation", "result");
  if (!result || !k.Bool(*result, "validation.result", "success") ||
      !k.Unsigned(*result, "validation.result", "rows")) {
    return k.Result();
  }
  const Json* stats = k.Field(*result, "validation.result", "statistics");
  if (stats) {
    k.Unsigned(*stats, "validation.result.statistics", "evaluated_expectations") &&
        k.Unsigned(*stats, "validation.result.statistics", "successful_expectations") &&
        k.Unsigned(*stats, "validation.result.statistics", "unsuccessful_expectations");
  }
  return k.Result();
}

}  // namespace

Status CheckDerivedBody(const DerivedObject& object) {
  if (object.kind == kProfileKind) return CheckProfileBody(object.body, object.key);
  if (object.kind == kValidationKind) return CheckValidationBody(object.body);
  return Status::OK();  // a kind this build does not write: its readers check it
}

}  // namespace cairn
