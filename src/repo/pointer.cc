#include "cairn/pointer.h"

#include <charconv>

namespace cairn {

std::string Pointer::Encode() const {
  std::string out =
      "# cairn pointer: commit this file to git; the data lives in the cairn cache and remotes\n";
  out += "format " + std::to_string(kPointerFormat) + "\n";
  out += "dataset " + dataset + "\n";
  out += "version " + version.ToString() + "\n";
  out += std::string("kind ") + (kind == ObjectKind::kTree ? "tree" : "blob") + "\n";
  out += "object " + object.ToString() + "\n";
  out += "size " + std::to_string(size) + "\n";
  out += "files " + std::to_string(files) + "\n";
  return out;
}

Result<Pointer> Pointer::Decode(std::string_view data, const std::string& where) {
  const std::string hint = "restore it with 'git checkout -- " + where + "'";
  auto corrupt = [&](const std::string& what) { return Status::Corruption(where + ": " + what, hint); };
  Pointer p;
  int format = -1;
  bool have_dataset = false, have_version = false, have_object = false, have_kind = false,
       have_size = false, have_files = false;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) return corrupt("pointer file is truncated (no final newline)");
    std::string_view line = data.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.find(' ');
    std::string_view key = line.substr(0, sp);
    std::string_view value = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
    auto parse_u64 = [&](uint64_t* out) {
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), *out);
      return ec == std::errc() && ptr == value.data() + value.size() && !value.empty();
    };
    if (key == "format") {
      uint64_t f = 0;
      if (!parse_u64(&f)) return corrupt("bad format line");
      if (f != static_cast<uint64_t>(kPointerFormat)) {  // before narrowing: 2^32 + 1 is not format 1
        return Status::Corruption(where + ": unknown pointer format version " + std::string(value) +
                                      " (this cairn reads version " + std::to_string(kPointerFormat) + ")",
                                  "upgrade cairn");
      }
      format = kPointerFormat;
    } else if (key == "dataset") {
      p.dataset = std::string(value);
      Status s = ValidateDatasetName(p.dataset);
      if (!s.ok()) return Status::Corruption(where + ": " + s.message(), hint);
      have_dataset = true;
    } else if (key == "version" || key == "object") {
      auto oid = Oid::Parse(value);
      if (!oid.ok()) return corrupt("bad " + std::string(key) + " oid");
      (key == "version" ? p.version : p.object) = *oid;
      (key == "version" ? have_version : have_object) = true;
    } else if (key == "kind") {
      if (value == "tree") {
        p.kind = ObjectKind::kTree;
      } else if (value == "blob") {
        p.kind = ObjectKind::kBlob;
      } else {
        return corrupt("unknown kind '" + std::string(value) + "'");
      }
      have_kind = true;
    } else if (key == "size") {
      if (!parse_u64(&p.size)) return corrupt("bad size");
      have_size = true;
    } else if (key == "files") {
      if (!parse_u64(&p.files)) return corrupt("bad file count");
      have_files = true;
    }
  }
  if (format < 0) return corrupt("not a cairn pointer file (no format line)");
  if (!have_dataset || !have_version || !have_object || !have_kind || !have_size || !have_files) {
    return corrupt("pointer file is truncated (missing fields)");
  }
  return p;
}

}  // namespace cairn
