// Tells the user, on stderr, that a command waits for the repository lock.
// Interim: OpenRepo (src/cli/common.cc) should install this for every
// command; until then the data commands install it after opening.
#ifndef CAIRN_CLI_LOCK_WAIT_H_
#define CAIRN_CLI_LOCK_WAIT_H_

#include <iostream>
#include <string>

#include "cairn/repo.h"

namespace cairn::cli {

inline void TellLockWaits(Repo& repo) {
  repo.set_lock_wait_callback([](const std::string& holder) {
    std::cerr << "cairn: waiting for another cairn command (pid " << holder << ") to finish..." << std::endl;
  });
}

}  // namespace cairn::cli

#endif  // CAIRN_CLI_LOCK_WAIT_H_
