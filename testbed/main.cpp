// sloprobe-testbed: a fake AI-agent platform for tests, benchmarks and demos.
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "config/duration.hpp"
#include "testbed/testbed.hpp"

int main(int argc, char** argv) {
  using namespace sloprobe;
  CLI::App app{"sloprobe-testbed: a fake AI-agent platform with fault injection"};
  testbed::Options options;
  std::string port_file;
  std::string faults_file;
  std::string stream_file;
  std::vector<std::string> users;
  std::string token_ttl = "10m";
  std::vector<std::string> api_keys;
  app.add_option("--listen", options.listen, "host:port to listen on (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--port-file", port_file, "Write the bound port to this file once listening");
  app.add_option("--faults", faults_file, "YAML file with a list of fault rules");
  app.add_option("--stream", stream_file,
                 "YAML file shaping the LLM endpoints' streams (ttfb, first_token, gap, ...)");
  app.add_option("--llm-api-key", options.llm_api_key,
                 "Key the LLM endpoints require (Bearer, or x-api-key for /v1/messages); or set "
                 "SLOPROBE_TESTBED_LLM_API_KEY")
      ->envname("SLOPROBE_TESTBED_LLM_API_KEY");
  app.add_option("--user", users, "user:password accepted by /auth/login (repeatable)");
  app.add_option("--api-key", api_keys,
                 "Static bearer token accepted as user 'probe' (repeatable); or set "
                 "SLOPROBE_TESTBED_API_KEY")
      ->envname("SLOPROBE_TESTBED_API_KEY");
  app.add_option("--login-rate", options.logins_per_minute,
                 "Logins per minute before 429 with Retry-After (0: no limit)")
      ->capture_default_str();
  app.add_option("--record-limit", options.record_limit,
                 "Requests kept for /admin/records (the oldest are dropped)")
      ->capture_default_str();
  app.add_option("--token-ttl", token_ttl, "Lifetime of issued tokens")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  if (!users.empty()) {
    options.users.clear();
    for (const auto& u : users) {
      const auto colon = u.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == u.size()) {
        std::cerr << "--user must be name:password\n";
        return 2;
      }
      options.users[u.substr(0, colon)] = u.substr(colon + 1);
    }
  }
  for (const auto& key : api_keys) options.api_keys[key] = "probe";
  const auto ttl = config::ParseDuration(token_ttl);
  if (!ttl || *ttl <= config::Duration::zero()) {
    std::cerr << "invalid --token-ttl '" << token_ttl << "'\n";
    return 2;
  }
  options.token_ttl = *ttl;

  try {
    boost::asio::io_context io(1);
    testbed::Testbed bed(io.get_executor(), options);
    auto read = [](const std::string& path) {
      std::ifstream in(path);
      if (!in) throw std::runtime_error("cannot read " + path);
      std::stringstream text;
      text << in.rdbuf();
      return text.str();
    };
    if (!faults_file.empty()) bed.SetFaults(testbed::ParseFaults(read(faults_file)));
    if (!stream_file.empty()) bed.SetStream(testbed::ParseStreamSpec(read(stream_file)));
    bed.Start();
    std::cout << "sloprobe-testbed listening on port " << bed.Port() << std::endl;
    if (!port_file.empty()) {
      const std::string tmp = port_file + ".tmp";
      std::ofstream(tmp) << bed.Port() << '\n';
      std::rename(tmp.c_str(), port_file.c_str());  // readers never see a partial file
    }
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](boost::system::error_code, int) {
      bed.Stop();
      io.stop();
    });
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "sloprobe-testbed: " << e.what() << '\n';
    return 1;
  }
  return 0;
}
