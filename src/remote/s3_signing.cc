// SigV4 signing of S3 requests through libcurl: canonical paths and queries,
// the payload hash and session token headers (see s3_signing.h for why each
// is needed).
#include "remote/s3_signing.h"

#include <algorithm>
#include <cctype>

#include "util/sha256.h"

namespace cairn {
namespace {

std::string Sha256Hex(std::string_view data) {
  Sha256 hasher;
  hasher.Update(data);
  return hasher.Finish().Hex();
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params) {
  std::sort(params.begin(), params.end());
  std::string q;
  for (const auto& [name, value] : params) {
    if (!q.empty()) q += '&';
    q += UriEncode(name, false) + "=" + UriEncode(value, false);
  }
  return q;
}

S3Signer::S3Signer(std::string region, const std::string& access_key, const std::string& secret_key,
                   std::string session_token)
    : sigv4_("aws:amz:" + region + ":s3"),
      userpwd_(access_key + ":" + secret_key),
      session_token_(std::move(session_token)) {}

curl_slist* S3Signer::AddHeaders(curl_slist* headers, std::string_view body) const {
  std::string sha = "x-amz-content-sha256: " + Sha256Hex(body);
  headers = curl_slist_append(headers, sha.c_str());  // copies
  if (!session_token_.empty()) {
    std::string token = "x-amz-security-token: " + session_token_;
    headers = curl_slist_append(headers, token.c_str());
  }
  return headers;
}

void S3Signer::Apply(CURL* curl) const {
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd_.c_str());
}

}  // namespace cairn
