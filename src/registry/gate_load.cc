// The models: section of cairn.yaml: each model's gates and alias_gates,
// with errors that point at the line and column of the offending token,
// inside a rule's YAML scalar when the rule's expression is wrong.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cairn/gate.h"
#include "cairn/pipeline.h"
#include "cairn/registry.h"
#include "registry/gate_internal.h"
#include "util/file.h"
#include "util/utf8.h"
#include "util/yaml_guard.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;

constexpr char kHint[] = "fix the models: section of cairn.yaml (see doc/registry.md, \"Gates\")";

struct Position {
  int line = 1;
  int column = 1;
};

// Line and column (1-based, columns in characters) of byte `at` of `text`.
Position PositionOf(const std::string& text, size_t at) {
  Position p;
  size_t line_start = 0;
  for (size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++p.line;
      line_start = i + 1;
    }
  }
  for (size_t i = line_start; i < at && i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++p.column;
  }
  return p;
}

size_t Utf8Length(uint32_t code) { return code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4; }

// The byte of `text` (the whole file) where byte `offset` of the scalar
// that starts at `start` came from: plain scalars hold their text as
// written (a line break and the next line's indentation fold into one
// space); quoted ones also hold '' and backslash escapes. Block scalars
// (| and >) are not mapped: their first byte stands for all of them.
size_t SourceOf(const std::string& text, size_t start, size_t offset) {
  if (start >= text.size()) return start;
  char style = text[start];
  if (style == '|' || style == '>') return start;
  size_t i = start + ((style == '\'' || style == '"') ? 1 : 0);
  size_t decoded = 0;
  auto fold = [&] {  // a line break and the next line's leading blanks
    ++i;
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    decoded += 1;
  };
  while (decoded < offset && i < text.size()) {
    char c = text[i];
    if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      fold();
    } else if (style == '\'' && c == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
      i += 2;
      decoded += 1;
    } else if (style == '"' && c == '\\' && i + 1 < text.size()) {
      char e = text[i + 1];
      int hex = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
      if (e == '\n') {
        i += 1;
        fold();
        decoded -= 1;  // an escaped line break stands for nothing
      } else if (hex > 0) {
        uint32_t code = 0;
        (void)std::from_chars(text.data() + i + 2, text.data() + std::min(text.size(), i + 2 + hex), code, 16);
        i += 2 + hex;
        decoded += Utf8Length(code);
      } else {
        // \N, \_, \L, \P are multi-byte characters; the rest one byte.
        decoded += (e == 'N' || e == '_') ? 2 : (e == 'L' || e == 'P') ? 3 : 1;
        i += 2;
      }
    } else {
      ++i;
      ++decoded;
    }
  }
  return i;
}

class Loader {
 public:
  explicit Loader(const std::string& text) : text_(text) {}

  Status Bad(const YAML::Mark& mark, const std::string& what, const std::string& hint = kHint) const {
    Position p = PositionOf(text_, static_cast<size_t>(mark.pos));
    return Status::InvalidArgument(std::string(kPipelineFile) + ":" + std::to_string(p.line) + ":" +
                                       std::to_string(p.column) + ": " + what,
                                   hint);
  }

  Result<std::vector<DeclaredGateRule>> Rules(const YAML::Node& list, const std::string& where) {
    std::vector<DeclaredGateRule> rules;
    if (list.IsNull()) return rules;
    if (!list.IsSequence()) return Bad(list.Mark(), where + " must be a list of rules");
    for (const YAML::Node& item : list) {
      CAIRN_ASSIGN_OR_RETURN(DeclaredGateRule rule, Rule(item, where));
      rules.push_back(std::move(rule));
    }
    return rules;
  }

 private:
  Result<DeclaredGateRule> Rule(const YAML::Node& node, const std::string& where) {
    DeclaredGateRule rule;
    Position at = PositionOf(text_, static_cast<size_t>(node.Mark().pos));
    rule.line = at.line;
    rule.column = at.column;
    if (node.IsScalar()) {
      rule.text = node.Scalar();
      rule.kind = "expression";
      size_t error_pos = 0;
      Result<std::unique_ptr<GateRule>> parsed = gate_internal::ParseExpressionRule(rule.text, &error_pos);
      if (!parsed.ok()) {
        size_t source = SourceOf(text_, static_cast<size_t>(node.Mark().pos), error_pos);
        Position p = PositionOf(text_, source);
        std::string message = parsed.status().message();
        if (message.rfind("filter: ", 0) == 0) message = message.substr(8);
        return Status::InvalidArgument(std::string(kPipelineFile) + ":" + std::to_string(p.line) + ":" +
                                           std::to_string(p.column) + ": gate rule of " + where + ": " + message,
                                       parsed.status().hint());
      }
      rule.rule = std::move(parsed).value();
      return rule;
    }
    if (!node.IsMap() || node.size() != 1) {
      return Bad(node.Mark(), "a gate rule of " + where +
                                  " is an expression (a string) or a mapping of one rule kind to its value, "
                                  "such as 'approvals: 1'");
    }
    auto kv = *node.begin();
    rule.kind = kv.first.Scalar();
    std::optional<GateRuleFactory> factory = gate_internal::FindGateRuleKind(rule.kind);
    if (!factory) {
      std::string known;
      for (const std::string& k : GateRuleKinds()) known += (known.empty() ? "" : ", ") + k;
      return Bad(kv.first.Mark(), "unknown gate rule kind '" + rule.kind + "' in " + where + " (known: " + known + ")",
                 "use a known kind, or write an expression such as metrics.mrr >= 0.70 (quote it when it holds ': ')");
    }
    YAML::Emitter flow;
    flow << YAML::Flow << kv.second;
    rule.text = rule.kind + ": " + std::string(flow.c_str());
    Result<std::unique_ptr<GateRule>> made = (*factory)(rule.text, ToJson(kv.second));
    if (!made.ok()) {
      return Bad(kv.second.Mark(), made.status().message() + " (in " + where + ")",
                 made.status().hint().empty() ? kHint : made.status().hint());
    }
    rule.rule = std::move(made).value();
    return rule;
  }

  // A YAML value as JSON: quoted scalars are strings, plain ones numbers,
  // booleans or null when they read as one.
  static Json ToJson(const YAML::Node& node) {
    if (node.IsSequence()) {
      Json out = Json::array();
      for (const YAML::Node& item : node) out.push_back(ToJson(item));
      return out;
    }
    if (node.IsMap()) {
      Json out = Json::object();
      for (const auto& kv : node) out[kv.first.Scalar()] = ToJson(kv.second);
      return out;
    }
    if (node.IsNull()) return nullptr;
    const std::string& s = node.Scalar();
    if (node.Tag() == "!") return s;
    int64_t integer = 0;
    auto [iend, iec] = std::from_chars(s.data(), s.data() + s.size(), integer);
    if (iec == std::errc() && iend == s.data() + s.size() && !s.empty()) return integer;
    double number = 0;
    auto [dend, dec] = std::from_chars(s.data(), s.data() + s.size(), number);
    if (dec == std::errc() && dend == s.data() + s.size() && !s.empty()) return number;
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    return s;
  }

  const std::string& text_;
};

}  // namespace

Result<ModelGates> ParseGates(const std::string& yaml_text, const std::string& model) {
  ModelGates gates;
  gates.model = model;
  if (size_t bad = FindNonYamlText(yaml_text); bad != std::string::npos) {
    return Status::InvalidArgument(std::string(kPipelineFile) + ":" + NonYamlTextMessage(yaml_text, bad),
                                   "save the file as UTF-8, without control characters");
  }
  CAIRN_RETURN_IF_ERROR(CheckYamlExpansion(yaml_text, std::string(kPipelineFile)));
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    return Status::InvalidArgument(std::string(kPipelineFile) + ":" + std::to_string(e.mark.line + 1) + ":" +
                                       std::to_string(e.mark.column + 1) + ": " + e.msg,
                                   "fix the YAML syntax");
  }
  Loader loader(yaml_text);
  try {
    if (!root.IsMap() || !root["models"]) return gates;
    YAML::Node models = root["models"];
    if (models.IsNull()) return gates;
    if (!models.IsMap()) return loader.Bad(models.Mark(), "'models' must be a mapping of model name to its gates");
    YAML::Node entry;
    bool found = false;
    for (const auto& kv : models) {
      gates.has_models_section = true;
      gates.declared_models.push_back(kv.first.Scalar());
      if (kv.first.Scalar() != model) continue;
      if (found) return loader.Bad(kv.first.Mark(), "model '" + model + "' appears twice under 'models'");
      entry = kv.second;
      found = true;
    }
    gates.declared = found;
    if (!found || entry.IsNull()) return gates;
    if (!entry.IsMap()) {
      return loader.Bad(entry.Mark(), "'models: " + model + "' must be a mapping with 'gates' and/or 'alias_gates'");
    }
    for (const auto& kv : entry) {
      std::string key = kv.first.Scalar();
      if (key == "gates") {
        CAIRN_ASSIGN_OR_RETURN(gates.rules, loader.Rules(kv.second, "model '" + model + "'"));
      } else if (key == "alias_gates") {
        if (kv.second.IsNull()) continue;
        if (!kv.second.IsMap())
          return loader.Bad(kv.second.Mark(), "'alias_gates' of model '" + model + "' must map an alias to rules");
        for (const auto& alias : kv.second) {
          std::string name = alias.first.Scalar();
          if (Status valid = ValidateAliasName(name); !valid.ok())
            return loader.Bad(alias.first.Mark(), valid.message() + " (in 'alias_gates' of model '" + model + "')");
          if (gates.alias_rules.count(name))
            return loader.Bad(alias.first.Mark(), "alias '" + name + "' appears twice in 'alias_gates'");
          CAIRN_ASSIGN_OR_RETURN(gates.alias_rules[name],
                                 loader.Rules(alias.second, "model '" + model + "' to " + name));
        }
      } else {
        return loader.Bad(kv.first.Mark(),
                          "unknown key '" + key + "' in model '" + model + "' (known: gates, alias_gates)");
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(std::string(kPipelineFile) + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg,
                                   kHint);
  }
  return gates;
}

Result<ModelGates> LoadGates(Repo& repo, const std::string& model) {
  fs::path path = repo.root() / kPipelineFile;
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    ModelGates none;
    none.model = model;
    return none;
  }
  CAIRN_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseGates(text, model);
}

}  // namespace cairn
