#pragma once

#include <ostream>
#include <string>

namespace sloprobe::daemon {

// `--config.check`: loads the file and sets up every probe without running
// it, and loads the web configuration file if one is named (certificates
// included). Prints each error as "file:line:column: message" to `err` and
// returns 1, or prints a summary to `out` and returns 0.
int CheckConfig(const std::string& path, const std::string& web_config_file, std::ostream& out,
                std::ostream& err);

}  // namespace sloprobe::daemon
