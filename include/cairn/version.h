// cairn's version: the one place it is written down (the CLI's --version,
// the environment every run records, and the Python module's __version__).
#ifndef CAIRN_VERSION_H_
#define CAIRN_VERSION_H_

namespace cairn {

inline constexpr char kVersion[] = "0.1.0";

}  // namespace cairn

#endif  // CAIRN_VERSION_H_
