#include "util/yaml_guard.h"

#include <yaml-cpp/anchor.h>
#include <yaml-cpp/emitterstyle.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>
#include <vector>

namespace cairn {
namespace {

// Counts the nodes of the document as a walk over it would see them: an
// alias counts as the whole node it names.
class Counter : public YAML::EventHandler {
 public:
  explicit Counter(uint64_t limit) : limit_(limit) {}

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { Leaf(mark, anchor, 1); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = sizes_.find(anchor);
    Leaf(mark, 0, it == sizes_.end() ? 1 : it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor, const std::string&) override {
    Leaf(mark, anchor, 1);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open_.push_back({anchor, 1});
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    open_.push_back({anchor, 1});
  }
  void OnMapEnd() override { Close(); }

  bool exceeded() const { return exceeded_; }
  const YAML::Mark& where() const { return where_; }

 private:
  struct Open {
    YAML::anchor_t anchor;
    uint64_t size;
  };
  void Leaf(const YAML::Mark& mark, YAML::anchor_t anchor, uint64_t size) {
    if (anchor) sizes_[anchor] = size;
    Add(size, mark);
  }
  void Close() {
    if (open_.empty()) return;
    Open done = open_.back();
    open_.pop_back();
    if (done.anchor) sizes_[done.anchor] = done.size;
    if (!open_.empty()) open_.back().size = Sum(open_.back().size, done.size);
  }
  void Add(uint64_t size, const YAML::Mark& mark) {
    total_ = Sum(total_, size);
    if (!open_.empty()) open_.back().size = Sum(open_.back().size, size);
    if (total_ > limit_ && !exceeded_) {
      exceeded_ = true;
      where_ = mark;
    }
  }
  static uint64_t Sum(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

  uint64_t limit_;
  uint64_t total_ = 0;
  bool exceeded_ = false;
  YAML::Mark where_;
  std::vector<Open> open_;
  std::map<YAML::anchor_t, uint64_t> sizes_;
};

}  // namespace

Status CheckYamlExpansion(const std::string& text, const std::string& file, uint64_t limit) {
  if (text.find('*') == std::string::npos) return Status::OK();  // no alias at all
  std::istringstream in(text);
  Counter counter(limit);
  try {
    YAML::Parser parser(in);
    parser.HandleNextDocument(counter);  // the first document, the one YAML::Load reads
  } catch (const YAML::Exception&) {
    return Status::OK();  // not YAML: the loader says where
  }
  if (!counter.exceeded()) return Status::OK();
  return Status::InvalidArgument(file + ":" + std::to_string(counter.where().line + 1) + ":" +
                                     std::to_string(counter.where().column + 1) +
                                     ": its aliases expand to more than " + std::to_string(limit) + " nodes",
                                 "write the values out instead of nesting aliases (*name) of aliases");
}

}  // namespace cairn
