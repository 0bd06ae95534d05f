// Reading S3's XML responses (libxml2): a parsed document, lookups of child
// elements by local name (namespaces ignored), the <Error> body S3 sends with
// failures, and the two text forms S3 uses inside XML (ISO 8601 times,
// escaped text).
#ifndef CAIRN_REMOTE_S3_XML_H_
#define CAIRN_REMOTE_S3_XML_H_

#include <libxml/tree.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace cairn {

// One parsed response body. Not copyable; frees the document when destroyed.
class XmlDoc {
 public:
  // Parses `text` without network access or messages; an empty or malformed
  // text gives a document whose root() is nullptr.
  explicit XmlDoc(const std::string& text);
  ~XmlDoc();
  XmlDoc(const XmlDoc&) = delete;
  XmlDoc& operator=(const XmlDoc&) = delete;

  // The root element; nullptr when the text is not XML.
  const xmlNode* root() const { return doc_ ? xmlDocGetRootElement(doc_) : nullptr; }

 private:
  xmlDocPtr doc_;
};

// Whether `n` is an element whose local name is `name` (false for nullptr).
bool IsElement(const xmlNode* n, const char* name);
// The first child element of `parent` named `name`; nullptr when there is none.
const xmlNode* Child(const xmlNode* parent, const char* name);
// The text content of `n`; "" for nullptr.
std::string Text(const xmlNode* n);
// Text(Child(parent, name)).
std::string ChildText(const xmlNode* parent, const char* name);

// The <Error><Code>…</Code><Message>…</Message></Error> body S3 sends with
// failures; both empty when the body is not such a document.
struct S3Error {
  std::string code;
  std::string message;
};
S3Error ParseS3Error(const std::string& body);

// "2024-05-01T12:34:56.000Z" -> seconds since the epoch; 0 when malformed.
int64_t ParseIso8601(const std::string& text);

// `s` with &, < and > escaped, for text placed inside an XML element.
std::string XmlEscape(std::string_view s);

}  // namespace cairn

#endif  // CAIRN_REMOTE_S3_XML_H_
