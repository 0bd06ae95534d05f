// The search filter language as a syntax tree: one parser for every front
// end (CLI --where, Python search_runs, the REST search of the server, the
// model registry), and one SQL emitter per database below it.
//
//   metrics.acc > 0.9 and (params.model = 'bge' or not tags.team = 'x')
//   attributes.status IN ('FINISHED', 'FAILED') and datasets.eval = 'v3'
//
// The language is a superset of MLflow's search_runs filter: every MLflow
// filter string parses with MLflow's meaning; cairn adds OR, NOT,
// parentheses and datasets.<name>. What an entity may be compared with is a
// parameter (FilterSchema), so registered models and model versions reuse
// the parser with their own attributes. Grammar: doc/tracking.md.
//
// Everything here is a pure function of its arguments: thread-safe, no I/O.
#ifndef CAIRN_FILTER_H_
#define CAIRN_FILTER_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"

namespace cairn {

// What the left side of a comparison names.
enum class FilterEntity {
  kMetric,        // metrics.K: the latest value of metric K
  kParam,         // params.K
  kTag,           // tags.K
  kAttribute,     // attributes.NAME: a column of the entity (FilterAttribute)
  kDataset,       // datasets.NAME (cairn): an input of dataset NAME, by tag or version
  kDatasetField,  // datasets.name / digest / context (MLflow): a field of any input
};

// "metrics", "params", "tags", "attributes", "datasets", "datasets".
std::string_view FilterEntityName(FilterEntity entity);

enum class FilterOp { kEq, kNe, kLt, kLe, kGt, kGe, kLike, kILike, kIn, kNotIn };

// "=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN".
std::string_view FilterOpText(FilterOp op);

enum class FilterType { kString, kNumber };

// An attribute of the searched entity, such as a run's status.
struct FilterAttribute {
  std::string name;                  // canonical: "run_name"
  std::vector<std::string> aliases;  // other spellings, matched in any case: "name", "run name"
  FilterType type = FilterType::kString;
  // When not empty: the only values (compared in uppercase), e.g. statuses;
  // anything else is refused rather than silently matching nothing.
  std::vector<std::string> closed_values;
  std::string unit;  // for messages about numbers: "milliseconds since the epoch"
};

// A spelling of an entity prefix ("metric", "metrics", "attr").
struct FilterPrefix {
  std::string name;  // matched in any case
  FilterEntity entity = FilterEntity::kMetric;
};

// A tag that stands for an attribute when a run lacks it, as MLflow's
// `tags.mlflow.runName` stands for the run name.
struct FilterTagAlias {
  std::string tag;        // "mlflow.runName"
  std::string attribute;  // canonical attribute name: "run_name"
};

// What a filter may name, per searched entity.
struct FilterSchema {
  std::string noun;  // the searched entity in messages: "run"
  std::vector<FilterPrefix> prefixes;
  std::vector<FilterAttribute> attributes;
  // Keys of datasets. that mean a field of any input (kDatasetField)
  // rather than a dataset's name.
  std::vector<std::string> dataset_fields;
  std::vector<FilterTagAlias> tag_aliases;
  // A word without a prefix that names an attribute means that attribute
  // (MLflow: `status = 'FAILED'`).
  bool bare_attributes = true;
  // Operands of other entities named by an alias before the prefix
  // (`production.metrics.mrr`), on either side of a comparison, and an
  // operand instead of a literal on the right (`metrics.mrr >
  // production.metrics.mrr`). Model gates opt in; run search does not, so
  // it keeps refusing `production.` as an unknown prefix and `metrics.b` as
  // a value. An alias is [A-Za-z0-9_-]+; a prefix name wins over an alias
  // of the same spelling.
  bool alias_operands = false;
};

// Runs: metrics, params, tags, attributes (status, run_name, run_id,
// start_time, end_time, user, experiment_id, artifact_uri) and datasets,
// with MLflow's spellings. A static object; never destroyed.
const FilterSchema& RunFilterSchema();

// Model versions as promotion gates see them (cairn/gate.h): metrics,
// params, tags and attributes (version, run_id, user, time), with alias
// operands. A static object; never destroyed.
const FilterSchema& ModelGateFilterSchema();

// A number or a string on the right side of a comparison.
struct FilterValue {
  bool is_number = false;
  std::string text;                // the string's contents, or the number as written
  double number = 0;               // when is_number
  std::optional<int64_t> integer;  // when is_number and the literal is a whole int64
  size_t pos = 0;                  // byte offset in the filter text
};

// An operand on the right side of a comparison in place of literal values
// (schemas with alias_operands): `production.metrics.mrr`, `metrics.loss`.
struct FilterOperand {
  std::string alias;  // empty: the entity under test itself
  FilterEntity entity = FilterEntity::kMetric;
  std::string key;      // as FilterComparison::key
  std::string spelled;  // as written, with its alias: "production.metrics.mrr"
  size_t pos = 0;       // where it starts (its alias, when it has one)
};

// entity.key op values. Checked against the schema when parsed: the values
// have the entity's type and the operator applies to it.
struct FilterComparison {
  // The left side's alias (schemas with alias_operands): "staging" in
  // `staging.metrics.loss < metrics.loss`; empty: the entity under test.
  std::string alias;
  FilterEntity entity = FilterEntity::kMetric;
  // The key: a metric/param/tag/dataset name; for kAttribute the canonical
  // attribute name; for kDatasetField "name", "digest" or "context".
  std::string key;
  // For a tag with a FilterTagAlias: the attribute it falls back to.
  std::string fallback_attribute;
  std::string spelled;  // the identifier as written, for messages: "attr.name" (with its alias)
  FilterOp op = FilterOp::kEq;
  std::vector<FilterValue> values;  // one, or the IN / NOT IN list; empty when `operand` is set
  // The right side when it names an operand rather than literals (only
  // with =, !=, <, <=, >, >=; schemas with alias_operands). The SQL
  // emitters never receive such trees: run search does not accept them.
  std::optional<FilterOperand> operand;
  size_t pos = 0;                   // where the identifier starts
  size_t key_pos = 0;               // where its key starts
  size_t op_pos = 0;
};

struct FilterNode {
  enum class Kind { kComparison, kAnd, kOr, kNot };
  Kind kind = Kind::kComparison;
  FilterComparison comparison;       // kComparison
  std::vector<FilterNode> children;  // kAnd, kOr: two or more; kNot: one
  size_t pos = 0;                    // where the node's text starts
};

struct FilterTree {
  std::string text;                // the filter as given
  std::optional<FilterNode> root;  // none when the filter is empty or blank
};

// Parses and checks a filter. InvalidArgument on a syntax or type error:
// the message names the 1-based column and shows the filter with a caret
// under the offending token; the hint shows an example. Also
// InvalidArgument ("filter is too large") beyond 500 comparisons, 10000
// values or 10 levels of parentheses and NOT, so that every tree has SQL
// each emitter's database accepts.
Result<FilterTree> ParseFilter(std::string_view text,
                               const FilterSchema& schema = RunFilterSchema());

// The same, and on a syntax or type error sets `*error_pos` to the byte
// offset of the offending token (0 for errors of the whole filter, such as
// its size), so a caller that holds the filter inside another text
// (cairn.yaml) can point at the token there.
Result<FilterTree> ParseFilter(std::string_view text, const FilterSchema& schema,
                               size_t* error_pos);

// A key the filter names, once per (entity, key), in order of first use.
// Tags with a FilterTagAlias are listed as their attribute.
struct FilterKeyRef {
  FilterEntity entity = FilterEntity::kMetric;
  std::string key;
  size_t pos = 0;  // of its first use
  bool operator==(const FilterKeyRef& other) const {
    return entity == other.entity && key == other.key;
  }
};

// The keys of metrics, params, tags, attributes, datasets and dataset
// fields that `tree` compares, so a caller can warn about a key no entity
// has ("metrics.acuracy").
std::vector<FilterKeyRef> ReferencedKeys(const FilterTree& tree);

// A sort key: "metrics.acc DESC", "attributes.start_time ASC",
// "metrics.`my metric`", "start_time" (a bare attribute).
struct OrderTerm {
  FilterEntity entity = FilterEntity::kAttribute;  // never kDataset or kDatasetField
  std::string key;                                 // for kAttribute the canonical attribute name
  bool descending = false;
  size_t pos = 0;
};

// Parses order clauses; each element may hold several comma-separated
// terms. InvalidArgument ("order by: ... at column N") on a syntax error or
// a key that cannot be sorted by (datasets).
Result<std::vector<OrderTerm>> ParseOrderTerms(const std::vector<std::string>& clauses,
                                               const FilterSchema& schema = RunFilterSchema());

}  // namespace cairn

#endif  // CAIRN_FILTER_H_
