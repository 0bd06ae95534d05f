// Resolving an S3 remote's configuration the way the AWS CLI does: the
// remote's own settings first, then the AWS_* environment variables, then the
// profile in ~/.aws/config and ~/.aws/credentials (AWS_CONFIG_FILE,
// AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE move them).
#include "remote/s3_config.h"

#include <stdlib.h>

#include <fstream>
#include <map>

#include "remote/s3_http.h"

namespace cairn {
namespace {

std::string Env(const char* name) {
  const char* v = ::getenv(name);
  return v ? v : "";
}

// section -> key -> value; an unreadable file is empty.
using Ini = std::map<std::string, std::map<std::string, std::string>>;

Ini ReadIni(const std::string& path) {
  Ini ini;
  std::ifstream in(path);
  std::string line, section;
  while (std::getline(in, line)) {
    line = TrimBlanks(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = TrimBlanks(line.substr(1, line.size() - 2));
    } else if (size_t eq = line.find('='); eq != std::string::npos) {
      ini[section][TrimBlanks(line.substr(0, eq))] = TrimBlanks(line.substr(eq + 1));
    }
  }
  return ini;
}

// $`env_var`, else $HOME/.aws/`name`.
std::string AwsFilePath(const char* env_var, const char* name) {
  std::string path = Env(env_var);
  if (path.empty() && !Env("HOME").empty()) path = Env("HOME") + "/.aws/" + name;
  return path;
}

// The profile's settings in ~/.aws/config: "[default]" or "[profile NAME]".
std::map<std::string, std::string> ConfigProfile(const std::string& profile) {
  Ini ini = ReadIni(AwsFilePath("AWS_CONFIG_FILE", "config"));
  if (profile != "default" && ini.count("profile " + profile)) return ini["profile " + profile];
  return ini[profile];
}

}  // namespace

Result<S3Config> ResolveS3Config(const RemoteSpec& spec) {
  S3Config c;
  constexpr std::string_view kScheme = "s3://";
  if (spec.url.rfind(kScheme, 0) != 0) {
    return Status::InvalidArgument("not an s3 URL: " + spec.url, "use s3://bucket[/prefix]");
  }
  std::string rest = spec.url.substr(kScheme.size());
  size_t slash = rest.find('/');
  c.bucket = rest.substr(0, slash);
  c.prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!c.prefix.empty() && c.prefix.back() == '/') c.prefix.pop_back();
  if (c.bucket.empty() || c.bucket.find_first_of(" ?#\\") != std::string::npos ||
      c.prefix.find("//") != std::string::npos || c.prefix.rfind('/', 0) == 0) {
    return Status::InvalidArgument("malformed s3 URL: " + spec.url, "use s3://bucket[/prefix]");
  }

  std::string profile = !spec.profile.empty() ? spec.profile : Env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::map<std::string, std::string> config = ConfigProfile(profile);

  c.region = spec.region;
  for (const std::string& r :
       {Env("AWS_REGION"), Env("AWS_DEFAULT_REGION"), config["region"], std::string("us-east-1")}) {
    if (c.region.empty()) c.region = r;
  }

  c.endpoint = spec.endpoint_url;
  if (c.endpoint.empty()) c.endpoint = Env("AWS_ENDPOINT_URL_S3");
  if (c.endpoint.empty()) c.endpoint = Env("AWS_ENDPOINT_URL");
  bool custom_endpoint = !c.endpoint.empty();
  if (!custom_endpoint) c.endpoint = "https://s3." + c.region + ".amazonaws.com";
  while (!c.endpoint.empty() && c.endpoint.back() == '/') c.endpoint.pop_back();
  if (c.endpoint.rfind("http://", 0) != 0 && c.endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("s3 endpoint URL must start with http:// or https://: " +
                                   c.endpoint);
  }
  // Auto: path-style for custom endpoints (MinIO, moto, Ceph), and for dotted
  // bucket names, which do not match AWS's wildcard TLS certificate.
  c.path_style =
      spec.path_style == 1 ||
      (spec.path_style == -1 && (custom_endpoint || c.bucket.find('.') != std::string::npos));
  c.ca_bundle = Env("AWS_CA_BUNDLE");

  c.access_key = spec.access_key_id;
  c.secret_key = spec.secret_access_key;
  if (c.access_key.empty() != c.secret_key.empty()) {
    return Status::InvalidArgument(spec.url +
                                   ": an access key id needs its secret access key "
                                   "(and the other way round)");
  }
  if (c.access_key.empty() && !Env("AWS_ACCESS_KEY_ID").empty()) {
    c.access_key = Env("AWS_ACCESS_KEY_ID");
    c.secret_key = Env("AWS_SECRET_ACCESS_KEY");
    c.session_token = Env("AWS_SESSION_TOKEN");
  }
  if (c.access_key.empty()) {
    std::map<std::string, std::string> creds =
        ReadIni(AwsFilePath("AWS_SHARED_CREDENTIALS_FILE", "credentials"))[profile];
    if (creds["aws_access_key_id"].empty()) creds = config;  // the CLI accepts keys there too
    c.access_key = creds["aws_access_key_id"];
    c.secret_key = creds["aws_secret_access_key"];
    c.session_token = creds["aws_session_token"];
  }
  if (c.access_key.empty() || c.secret_key.empty()) {
    return Status::InvalidArgument(
        spec.url + ": no AWS credentials found (profile '" + profile + "')",
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run 'aws configure' to write "
        "~/.aws/credentials");
  }
  return c;
}

}  // namespace cairn
