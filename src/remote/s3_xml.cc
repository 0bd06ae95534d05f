// Reading S3's XML responses with libxml2 (see s3_xml.h). Elements are
// matched by local name, so the S3 namespace (present or not) does not matter.
#include "remote/s3_xml.h"

#include <libxml/parser.h>
#include <time.h>

#include <cstdio>
#include <cstring>

namespace cairn {

XmlDoc::XmlDoc(const std::string& text)
    : doc_(text.empty()
               ? nullptr
               : xmlReadMemory(text.data(), static_cast<int>(text.size()), "s3.xml", nullptr,
                               XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) {}

XmlDoc::~XmlDoc() { xmlFreeDoc(doc_); }

bool IsElement(const xmlNode* n, const char* name) {
  return n && n->type == XML_ELEMENT_NODE &&
         strcmp(reinterpret_cast<const char*>(n->name), name) == 0;
}

const xmlNode* Child(const xmlNode* parent, const char* name) {
  for (const xmlNode* n = parent ? parent->children : nullptr; n; n = n->next) {
    if (IsElement(n, name)) return n;
  }
  return nullptr;
}

std::string Text(const xmlNode* n) {
  if (!n) return "";
  xmlChar* s = xmlNodeGetContent(n);
  std::string out = s ? reinterpret_cast<const char*>(s) : "";
  xmlFree(s);
  return out;
}

std::string ChildText(const xmlNode* parent, const char* name) { return Text(Child(parent, name)); }

S3Error ParseS3Error(const std::string& body) {
  XmlDoc doc(body);
  if (!IsElement(doc.root(), "Error")) return {};
  return {ChildText(doc.root(), "Code"), ChildText(doc.root(), "Message")};
}

int64_t ParseIso8601(const std::string& text) {
  struct tm tm = {};
  if (sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

// ETags are quoted hex, but they go into a request body: escape anyway.
std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s)
    out += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : std::string(1, c);
  return out;
}

}  // namespace cairn
