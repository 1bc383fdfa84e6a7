#include <algorithm>
#include <iostream>

#include "cli/cli.hpp"

namespace amlemu::cli {

int g_exit_code = 0;

Workspace Context::workspace() const {
  return Workspace::from_config(config_path.empty() ? std::nullopt
                                                    : std::optional<std::filesystem::path>(config_path));
}

void print_json(const nlohmann::json& doc) { std::cout << doc.dump(2) << std::endl; }

namespace {
std::string cell(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}
}  // namespace

void print_rows(const Context& ctx, const nlohmann::json& rows,
                const std::vector<std::string>& columns) {
  if (ctx.output != "table") {
    print_json(rows);
    return;
  }
  std::vector<size_t> width;
  for (const auto& c : columns) width.push_back(c.size());
  for (const auto& r : rows) {
    for (size_t i = 0; i < columns.size(); ++i) {
      width[i] = std::max(width[i], cell(r.value(columns[i], nlohmann::json())).size());
    }
  }
  auto line = [&](auto get) {
    for (size_t i = 0; i < columns.size(); ++i) {
      const auto s = get(i);
      std::cout << s << (i + 1 < columns.size() ? std::string(width[i] - s.size() + 2, ' ') : "");
    }
    std::cout << "\n";
  };
  line([&](size_t i) { return columns[i]; });
  line([&](size_t i) { return std::string(width[i], '-'); });
  for (const auto& r : rows) line([&](size_t i) { return cell(r.value(columns[i], nlohmann::json())); });
  std::cout << std::flush;
}

void add_output_option(CLI::App* cmd, Context& ctx) {
  cmd->add_option("-o,--output", ctx.output, "Output format")
      ->check(CLI::IsMember({"json", "table"}));
}

}  // namespace amlemu::cli
