// Where an S3 remote is and who signs for it, resolved as the AWS CLI does:
// from the RemoteSpec, else the AWS_* environment variables, else the
// ~/.aws/config and ~/.aws/credentials profile.
#ifndef CAIRN_REMOTE_S3_CONFIG_H_
#define CAIRN_REMOTE_S3_CONFIG_H_

#include <string>

#include "cairn/status.h"
#include "cairn/sys/backend.h"

namespace cairn {

struct S3Config {
  std::string bucket;
  std::string prefix;    // without leading or trailing '/'
  std::string endpoint;  // "https://s3.us-east-1.amazonaws.com", no trailing '/'
  bool path_style = true;
  std::string region;
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // "" unless temporary credentials
  std::string ca_bundle;      // AWS_CA_BUNDLE, or ""
};

// Resolves bucket, prefix, endpoint, region and credentials of `spec`
// (an s3://bucket[/prefix] URL). InvalidArgument for a malformed URL or
// endpoint, a key without its secret, or when no credentials are found.
// Reads the environment and the AWS files; does not contact the server.
Result<S3Config> ResolveS3Config(const RemoteSpec& spec);

}  // namespace cairn

#endif  // CAIRN_REMOTE_S3_CONFIG_H_
