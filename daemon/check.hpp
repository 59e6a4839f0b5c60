#pragma once

#include <ostream>
#include <string>

namespace sloprobe::daemon {

// `--config.check`: loads the file and sets up every probe without running
// it. Prints each error as "file:line:column: message" to `err` and returns 1,
// or prints a summary to `out` and returns 0.
int CheckConfig(const std::string& path, std::ostream& out, std::ostream& err);

}  // namespace sloprobe::daemon
