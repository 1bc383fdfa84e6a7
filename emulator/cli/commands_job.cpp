#include <iostream>

#include "amlemu/errors.hpp"
#include "amlemu/estimator.hpp"
#include "amlemu/experiment.hpp"
#include "amlemu/hyperdrive.hpp"
#include "amlemu/job_yaml.hpp"
#include "amlemu/run.hpp"
#include "cli/cli.hpp"

namespace amlemu::cli {

namespace {

nlohmann::json summary(const Run& run) {
  const auto d = run.get_details();
  return {{"name", d["runId"]},
          {"experiment_name", d["experimentName"]},
          {"status", d["status"]},
          {"compute", d["target"]},
          {"creation_time", d["createdTimeUtc"]},
          {"start_time", d["startTimeUtc"]},
          {"end_time", d["endTimeUtc"]}};
}

// Streams a run; a run that did not complete makes the command exit non-zero.
void stream(const Run& run) {
  const auto details = run.wait_for_completion(true, false, std::cout);
  if (details["status"] != RunStatus::Completed) g_exit_code = 1;
}

}  // namespace

void add_job_commands(CLI::App& app, Context& ctx) {
  auto* group = app.add_subcommand("job", "Jobs (runs)");
  group->require_subcommand(1);

  auto* create = group->add_subcommand("create", "Submit a job from a spec file");
  static std::string file, experiment;
  static std::vector<std::string> overrides;
  static bool do_stream = false;
  create->add_option("--file,-f", file,
                     "A CLI v2 command job (.yml/.yaml) or an estimator-style JSON spec")
      ->required();
  create->add_option("--experiment-name", experiment, "Override the job's experiment_name");
  create->add_option("--set", overrides, "key.path=value, applied to a YAML job (repeatable)");
  create->add_flag("--stream", do_stream, "Follow the run's log until it ends");
  add_output_option(create, ctx);
  create->callback([&ctx] {
    prepare_submission();  // before the workspace is opened: its supervisor is forked here
    const std::filesystem::path path(file);
    const bool yaml = path.extension() == ".yml" || path.extension() == ".yaml";
    if (!yaml && !overrides.empty()) {
      throw UserErrorException("--set applies to YAML job files only");
    }
    JobSpec spec;
    std::optional<CommandJob> v2;
    if (yaml) {
      v2 = load_command_job(path, overrides);
      spec = v2->spec;
    } else {
      spec = load_job_spec(path);
    }
    const auto ws = ctx.workspace();
    const Experiment exp(ws, experiment.empty() ? spec.experiment_name : experiment);
    const Estimator estimator = v2 ? resolve_command_job(ws, *v2) : spec.estimator;
    for (const auto& w : estimator.warnings) std::cerr << "Warning: " << w << std::endl;
    // A sweep file's job is its trial; the sweep's own keys make it a parent of trials.
    // A JSON spec with a "hyperdrive" section is a HyperDrive run around its estimator.
    const auto run = v2 && !v2->sweep.is_null() ? exp.submit_sweep(estimator, v2->sweep)
                     : !spec.hyperdrive.is_null() ? submit_hyperdrive(exp, parse_hyperdrive(spec.hyperdrive, estimator))
                                                  : exp.submit(estimator);
    if (do_stream) {
      stream(run);
      if (ctx.output == "json") print_json(summary(run));
    } else if (ctx.output == "json") {
      print_json(summary(run));
    } else {
      std::cout << run.id() << std::endl;
    }
  });

  auto* show = group->add_subcommand("show", "Show a job");
  static std::string show_name;
  show->add_option("--name,-n", show_name, "Run id")->required();
  add_output_option(show, ctx);
  show->callback([&ctx] {
    const Run run(ctx.workspace(), show_name);
    auto details = run.get_details();
    // A sweep: its trials too, best first by the primary metric.
    if (details["properties"].contains("primary_metric_config")) {
      const auto trials = run.get_children_sorted_by_primary_metric();
      if (ctx.output == "table") {
        print_rows(ctx, trials, {"run_id", "status", "best_primary_metric", "hyperparameters"});
        return;
      }
      details["children"] = trials;
    }
    print_json(details);
  });

  auto* list = group->add_subcommand("list", "List jobs, newest first");
  static std::string list_experiment, list_parent;
  static int max_results = 0;
  list->add_option("--experiment-name", list_experiment, "Only this experiment's jobs");
  list->add_option("--parent", list_parent, "Only this job's child runs (a sweep's trials), in order");
  list->add_option("--max-results,-r", max_results, "At most this many jobs");
  add_output_option(list, ctx);
  list->callback([&ctx] {
    const auto ws = ctx.workspace();
    nlohmann::json rows = nlohmann::json::array();
    std::vector<Run> runs;
    if (!list_parent.empty()) {
      runs = Run(ws, list_parent).get_children();
    } else if (!list_experiment.empty()) {
      runs = Experiment(ws, list_experiment).get_runs(max_results);
    } else {
      runs = list_runs(ws, max_results);
    }
    for (const auto& r : runs) {
      if (max_results > 0 && static_cast<int>(rows.size()) >= max_results) break;
      rows.push_back(summary(r));
    }
    print_rows(ctx, rows, {"name", "experiment_name", "status", "compute", "creation_time"});
  });

  auto* strm = group->add_subcommand("stream", "Follow a job's log until it ends");
  static std::string stream_name;
  strm->add_option("--name,-n", stream_name, "Run id")->required();
  strm->callback([&ctx] { stream(Run(ctx.workspace(), stream_name)); });

  auto* metrics = group->add_subcommand("metrics", "A job's metrics, as Run.get_metrics()");
  static std::string metrics_name, metric;
  metrics->add_option("--name,-n", metrics_name, "Run id")->required();
  metrics->add_option("--metric", metric, "Only this metric");
  add_output_option(metrics, ctx);
  metrics->callback([&ctx] {
    const Run run(ctx.workspace(), metrics_name);
    print_json(metric.empty() ? run.get_metrics() : run.get_metrics(metric));
  });

  auto* download = group->add_subcommand("download", "Download a job's files");
  static std::string dl_name, dl_path, prefix;
  download->add_option("--name,-n", dl_name, "Run id")->required();
  download->add_option("--download-path,-p", dl_path, "Folder to write to")->required();
  download->add_option("--prefix", prefix, "Only files under this prefix, e.g. outputs/");
  add_output_option(download, ctx);
  download->callback([&ctx] {
    const Run run(ctx.workspace(), dl_name);
    const int n = run.download_files(prefix, dl_path, true);
    if (ctx.output == "json") {
      print_json({{"name", dl_name}, {"downloadPath", dl_path}, {"files", n}});
    } else {
      std::cout << "Downloaded " << n << " files to " << dl_path << std::endl;
    }
  });

  auto* cancel = group->add_subcommand("cancel", "Cancel a job");
  static std::string cancel_name;
  cancel->add_option("--name,-n", cancel_name, "Run id")->required();
  cancel->callback([&ctx] { Run(ctx.workspace(), cancel_name).cancel(); });
}

}  // namespace amlemu::cli
